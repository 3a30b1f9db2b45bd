import { describe, expect, it } from 'vitest';
import { createConsoleLogger } from '../../src/lib/console-logger.ts';

/** The worker's and the command line's log lines scrub errors as the API's do (lib/log-errors.ts). */
describe('the console logger', () => {
  it('logs a failed query without its parameters, and a refused recipient without the address', () => {
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      const logger = createConsoleLogger('info');
      const query = Object.assign(
        new Error('Failed query: update users set email = $1\nparams: ann@example.com,s3cret'),
        {
          query: 'update users set email = $1',
          params: ['ann@example.com', 's3cret'],
        },
      );
      logger.error({ err: query, jobId: 7 }, 'job failed');
      logger.warn({ err: new Error('550 mailbox ann@example.com unavailable') }, 'mail refused');
    } finally {
      process.stdout.write = write;
    }
    const text = lines.join('');
    expect(lines).toHaveLength(2);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('ann@example.com');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 50,
      jobId: 7,
      msg: 'job failed',
      err: { params: '[redacted]' },
    });
  });
});
