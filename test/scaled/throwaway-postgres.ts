import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { freePort, waitFor } from './cluster.ts';

/**
 * A PostgreSQL cluster of the test's own, on a port of its own, that the test may crash, stop and start again —
 * which the machine's PostgreSQL, shared with every other suite, must never be. The server runs in its own process
 * group, SIGKILLed with its backends at the end of the file at the latest. As root (CI), it runs as `postgres`.
 */
export async function throwawayPostgres() {
  const bin = join('/usr/lib/postgresql', latestVersion(), 'bin');
  const owner = process.getuid?.() === 0 ? idsOf('postgres') : {};
  const dir = mkdtempSync(join(tmpdir(), 'leadsy-pg-'));
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);
  const data = join(dir, 'data');
  execFileSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], {
    ...owner,
    stdio: 'pipe',
  });
  const port = await freePort();
  let server: ChildProcess | undefined;
  let output = '';
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;

  const killGroup = (signal: NodeJS.Signals) => {
    if (!server?.pid || server.exitCode !== null || server.signalCode !== null) return;
    try {
      process.kill(-server.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const exited = () =>
    new Promise<void>((resolve) => {
      if (!server || server.exitCode !== null || server.signalCode !== null) resolve();
      else server.once('exit', () => resolve());
    });
  afterAll(async () => {
    killGroup('SIGKILL');
    await exited();
    rmSync(dir, { recursive: true, force: true });
  });

  const cluster = {
    url,
    port,
    /** Starts the server (after a crash it recovers first) and waits until it accepts connections. */
    async start() {
      server = spawn(
        join(bin, 'postgres'),
        ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
        { ...owner, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-20_000);
      };
      server.stdout?.on('data', keep);
      server.stderr?.on('data', keep);
      await waitFor(`the throwaway PostgreSQL on port ${port}\n${output}`, () => ready(port), 60_000, 100);
    },
    async ensureRunning() {
      if (!server || server.exitCode !== null || server.signalCode !== null) await cluster.start();
    },
    /** SIGKILL of the postmaster and every backend at once: a crash, or a host that died. */
    async crash() {
      killGroup('SIGKILL');
      await exited();
    },
    /** A fast shutdown: sessions are terminated (57P01), then the server stops. */
    async stop() {
      killGroup('SIGINT');
      await exited();
    },
    log: () => output,
  };
  await cluster.start();
  return cluster;
}

function ready(port: number): boolean {
  try {
    execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function latestVersion(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  const latest = versions.at(-1);
  if (!latest) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return latest;
}

function idsOf(user: string): { uid?: number; gid?: number } {
  const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  return { uid, gid };
}
