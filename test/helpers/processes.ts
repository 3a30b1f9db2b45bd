import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll } from 'vitest';

/**
 * Leadsy's compiled entry points (built once per test run by global-setup.ts, as `npm start` builds them), started
 * in a process group of their own so that a timeout or the end of the file kills the whole group: no test leaves a
 * process behind.
 */
export const CLI = 'dist/cli.js';
export const SERVER = 'dist/server.js';

const started = new Set<ChildProcess>();
afterAll(() => {
  for (const child of started) killGroup(child);
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts `node <entry> …args` in its own process group; it is killed at the end of the test file at the latest. */
export function start(entry: string, args: string[], env: NodeJS.ProcessEnv, stdio: 'pipe' | 'ignore' = 'pipe') {
  const child = spawn(process.execPath, [entry, ...args], { env, detached: true, stdio });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  killGroup(child, signal);
}

export type Ran = { code: number | null; stdout: string; stderr: string };

/** Runs a command to its end; past `timeoutMs` its process group is killed and the promise rejects. */
export function run(entry: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<Ran> {
  const child = start(entry, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${entry} ${args.join(' ')} took over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
