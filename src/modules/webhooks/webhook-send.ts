import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isPublicAddress, TargetRefusedError, vettedLookup } from './webhook-target.ts';

/** `whsec_` + base64 of 32 random bytes (the Standard Webhooks secret format). */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, keyed with the
 * base64-decoded part after `whsec_`, space-separated (the new secret first during a rotation).
 */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
    })
    .join(' ');
}

export type SendResult = {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  excerpt: string | null;
};

/** What is kept of a receiver's answer; the rest is not read. */
export const EXCERPT_BYTES = 4096;

export type WebhookSender = ReturnType<typeof createWebhookSender>;

/**
 * Sends deliveries. Each sender has its own connection pools, so a socket vetted under one WEBHOOK_ALLOW_PRIVATE
 * setting is never reused under another. Redirects are not followed (a 3xx is a failure), the answer is read up
 * to EXCERPT_BYTES, and the whole exchange is cut at `timeoutMs`.
 */
export function createWebhookSender(options: { allowPrivate: boolean; timeoutMs: number }) {
  const { allowPrivate, timeoutMs } = options;
  const lookup = vettedLookup(allowPrivate);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 4, lookup } as http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 4, lookup } as https.AgentOptions),
  };

  function send(
    request: { url: string; headers: Record<string, string>; body: string },
    signal?: AbortSignal,
  ): Promise<SendResult> {
    const started = performance.now();
    const done = (result: Omit<SendResult, 'durationMs'>): SendResult => ({
      ...result,
      durationMs: Math.round(performance.now() - started),
    });
    const failed = (error: string) => done({ ok: false, statusCode: null, error, excerpt: null });
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return Promise.resolve(failed('invalid URL'));
    }
    const agent = agents[url.protocol as keyof typeof agents];
    if (!agent || (url.protocol === 'http:' && !allowPrivate)) return Promise.resolve(failed('refused: not https'));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // A literal address never goes through `lookup`: it is checked here.
    if (!allowPrivate && isIP(host) !== 0 && !isPublicAddress(host)) {
      return Promise.resolve(failed(`refused: ${host} is not a public address`));
    }
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const req = (url.protocol === 'https:' ? https : http).request(url, {
        method: 'POST',
        agent,
        lookup,
        headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) },
      });
      const timer = setTimeout(() => {
        finish(failed(`timeout: no complete answer within ${timeoutMs} ms`));
        req.destroy();
      }, timeoutMs);
      const onAbort = () => {
        finish(failed('interrupted: the worker stopped'));
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => {
        const refused = error instanceof TargetRefusedError || error.cause instanceof TargetRefusedError;
        finish(
          failed(
            refused
              ? `refused: ${error.message}`
              : `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${error.message}`,
          ),
        );
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const complete = () => {
          const status = res.statusCode ?? 0;
          const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
          const ok = status >= 200 && status < 300;
          let error: string | null = null;
          if (status >= 300 && status < 400) error = 'redirect not followed';
          else if (!ok) error = `HTTP ${status}`;
          finish(done({ ok, statusCode: status, error, excerpt: excerpt || null }));
        };
        res.on('data', (chunk: Buffer) => {
          if (size >= EXCERPT_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
          // Enough is read: the rest of a large answer is not our business.
          if (size >= EXCERPT_BYTES) {
            complete();
            res.destroy();
          }
        });
        res.on('end', complete);
        res.on('error', () => complete());
        res.on('aborted', () => complete());
      });
      req.end(request.body);
    });
  }

  return {
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
