import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidKey, type Storage } from './storage.ts';

const FALLBACK_TYPE = 'application/octet-stream';

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Objects are plain files under `root` (`root/<key>`); each one's content type sits beside the tree in
 * `root/.meta/<key>.json`. Keys never start a segment with a dot, so `.meta` and `.tmp` cannot collide with them.
 * Writes go to `root/.tmp` first and are renamed into place (same filesystem, so the rename is atomic).
 */
export function createLocalStorage(directory: string): Storage {
  const root = resolve(directory);
  // Writes in progress and their sources, so close() can wait for them and end those that still hang (a cut
  // request whose stream never ends): each then removes its temporary file.
  const writing = new Map<Promise<unknown>, Readable | Buffer>();

  function pathsOf(key: string) {
    assertValidKey(key);
    const file = resolve(root, ...key.split('/'));
    // Belt and braces: the key pattern already rules out `..`, but nothing may resolve outside the root.
    if (!file.startsWith(root + sep)) throw new Error('storage key escapes the storage directory');
    return { file, meta: resolve(root, '.meta', `${key}.json`) };
  }

  /** Tracks a write until it has settled, cleanup included. */
  function tracked(body: Readable | Buffer, write: () => Promise<void>): Promise<void> {
    const done = write();
    const settled = done.catch(() => {});
    writing.set(settled, body);
    void settled.finally(() => writing.delete(settled));
    return done;
  }

  async function writeAtomically(target: string, body: Readable | Buffer) {
    const temp = join(root, '.tmp', randomUUID());
    await mkdir(dirname(temp), { recursive: true });
    try {
      if (Buffer.isBuffer(body)) await writeFile(temp, body, { flag: 'wx' });
      else await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  return {
    async put(key, body, contentType) {
      const paths = pathsOf(key);
      return tracked(body, async () => {
        // The metadata first: the data file's presence is what makes the object exist.
        await writeAtomically(paths.meta, Buffer.from(JSON.stringify({ contentType })));
        try {
          await writeAtomically(paths.file, body);
        } catch (error) {
          await rm(paths.meta, { force: true });
          throw error;
        }
      });
    },

    async get(key) {
      const paths = pathsOf(key);
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(paths.file, 'r');
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      try {
        const { size } = await handle.stat();
        const contentType = await readFile(paths.meta, 'utf8')
          .then((text) => String((JSON.parse(text) as { contentType?: unknown }).contentType ?? FALLBACK_TYPE))
          .catch(() => FALLBACK_TYPE);
        return { body: handle.createReadStream(), contentType, size };
      } catch (error) {
        await handle.close();
        throw error;
      }
    },

    async delete(key) {
      const paths = pathsOf(key);
      await rm(paths.file, { force: true });
      await rm(paths.meta, { force: true });
    },

    /**
     * Waits (at most CLOSE_WAIT_MS) for writes in progress, then ends those still waiting for their source (a cut
     * upload): each fails and removes its temporary file, and put() its metadata.
     */
    async close() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...writing.keys()]),
        new Promise((done) => {
          timer = setTimeout(done, CLOSE_WAIT_MS).unref();
        }),
      ]);
      clearTimeout(timer);
      for (const body of writing.values()) {
        if (!Buffer.isBuffer(body)) body.destroy(new Error('The storage closed before the write finished.'));
      }
      await Promise.all([...writing.keys()]);
    },
  };
}

const CLOSE_WAIT_MS = 1_000;

/** Temporary files older than this are leftovers of a process that died mid-write (no write lasts an hour). */
export const TEMP_MAX_AGE_MS = 60 * 60_000;

/**
 * Removes the temporary files that processes killed mid-upload left in `directory/.tmp`. Only old ones: the
 * directory may be a volume shared with other nodes, whose uploads in progress are recent. Answers how many went.
 */
export async function sweepTemporaryFiles(
  directory: string,
  options: { olderThanMs?: number; now?: Date } = {},
): Promise<number> {
  const temp = join(resolve(directory), '.tmp');
  const cutoff = (options.now ?? new Date()).getTime() - (options.olderThanMs ?? TEMP_MAX_AGE_MS);
  let names: string[];
  try {
    names = await readdir(temp);
  } catch (error) {
    if (isMissing(error)) return 0;
    throw error;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(temp, name);
    try {
      if ((await stat(path)).mtimeMs >= cutoff) continue;
      await rm(path, { force: true, recursive: true });
      removed += 1;
    } catch (error) {
      // Gone meanwhile (another node swept it, or its write ended): nothing to do.
      if (!isMissing(error)) throw error;
    }
  }
  return removed;
}
