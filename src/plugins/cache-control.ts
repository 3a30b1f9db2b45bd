import type { FastifyInstance } from 'fastify';

/**
 * Answers carry tokens (login, sign-up, OIDC), personal data (users, leads) or echo what was asked (a looked-up
 * invitation, a mistyped path): no shared or browser cache may keep them. So every answer is `no-store` unless its
 * route chose otherwise, as avatars do (immutable, unguessable URLs) and the calendar feed does.
 */
export function registerCacheControl(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
