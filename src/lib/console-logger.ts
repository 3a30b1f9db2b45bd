import { hostname } from 'node:os';
import type { Config } from '../config.ts';
import { serializeError } from './log-errors.ts';

/** What the worker and the command line log through: pino's call shape, without an HTTP server for pino. */
export type ConsoleLogger = {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
};

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY };

/**
 * JSON lines in pino's shape (level, time, pid, hostname, msg), so the worker's logs read like the API's without
 * building an HTTP server for its logger.
 */
export function createConsoleLogger(level: Config['logLevel']): ConsoleLogger {
  const threshold = LEVELS[level];
  const base = { pid: process.pid, hostname: hostname() };
  const write = (value: number) => (obj: unknown, msg?: string) => {
    if (value < threshold) return;
    const fields: Record<string, unknown> = typeof obj === 'object' && obj !== null ? { ...obj } : { msg: obj };
    if (fields.err instanceof Error) fields.err = serializeError(fields.err);
    const line = { level: value, time: Date.now(), ...base, ...fields, ...(msg === undefined ? {} : { msg }) };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  return { info: write(LEVELS.info), warn: write(LEVELS.warn), error: write(LEVELS.error) };
}
