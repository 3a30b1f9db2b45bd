import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The interactive reference at /docs, over the document the docs plugin builds (served at /docs/json).
 *
 * Swagger UI rather than Scalar: every asset is served from this package, with no inline script, so the page runs
 * under the app's own CSP (`script-src 'self'`) with no exception; Scalar's page starts from an inline script and
 * fetches its fonts from its CDN unless told not to.
 */
export async function registerDocsUi(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    theme: { title: 'Leadsy API reference' },
    uiConfig: {
      // No top bar: its logo is Fastify's, and its box loads any other document, which the CSP would refuse anyway.
      layout: 'BaseLayout',
      deepLinking: true,
      // 26 tags: a page of closed tags, opened one at a time or found through the filter box, reads better than ~80
      // operations at once.
      docExpansion: 'none',
      filter: true,
      // A reference for trying: every operation opens ready to send, and says how long the answer took.
      tryItOutEnabled: true,
      displayRequestDuration: true,
      // The token survives a reload (this origin's localStorage only; Logout clears it).
      persistAuthorization: true,
      // Shows each operation's x-permission, the access it needs.
      showExtensions: true,
    },
  });
}
