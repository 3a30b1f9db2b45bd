import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Why the embedded database could not be opened: another live process holds this DATA_DIR. */
export class DataDirInUse extends Error {
  override name = 'DataDirInUse';
}

type Holder = { pid: number; hostname: string; command: string; since: string };

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

/**
 * PGlite's data directory belongs to one process: a second one writing beside it would see none of the first's
 * writes and lose its own (ids handed out twice, a superadmin that vanishes on restart). The lock is a file created
 * exclusively in DATA_DIR naming its holder; a lock whose process is gone (a crash, a SIGKILL) is taken over.
 * Returns the release function; the lock is also released when the process exits.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'db.lock');
  const me: Holder = {
    pid: process.pid,
    hostname: hostname(),
    command: process.argv.slice(1).join(' ').slice(0, 200),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      const release = () => {
        process.off('exit', release);
        if (readHolder(file)?.pid === me.pid) unlinkSafely(file);
      };
      process.on('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(file);
      const held = holder && (holder.hostname !== me.hostname || alive(holder.pid));
      if (held && holder.pid !== me.pid) {
        throw new DataDirInUse(
          `The embedded database in ${dataDir} is in use by process ${holder.pid} on ${holder.hostname} ` +
            `(${holder.command || 'leadsy'}, since ${holder.since}). It belongs to one process at a time: stop that ` +
            'process first (commands such as create-superadmin and import then work on it), or share a PostgreSQL ' +
            `between processes with DATABASE_URL. If no such process runs, remove ${file}.`,
        );
      }
      if (held) throw new DataDirInUse(`The embedded database in ${dataDir} is already open in this process.`);
      // The holder is gone: take the lock over (one of two racing takers wins the exclusive create).
      unlinkSafely(file);
    }
  }
  throw new DataDirInUse(`Another process took the embedded database in ${dataDir} at the same moment; try again.`);
}

function unlinkSafely(file: string) {
  try {
    unlinkSync(file);
  } catch {
    // Already removed.
  }
}
