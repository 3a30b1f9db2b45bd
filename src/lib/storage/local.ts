import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
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

  function pathsOf(key: string) {
    assertValidKey(key);
    const file = resolve(root, ...key.split('/'));
    // Belt and braces: the key pattern already rules out `..`, but nothing may resolve outside the root.
    if (!file.startsWith(root + sep)) throw new Error('storage key escapes the storage directory');
    return { file, meta: resolve(root, '.meta', `${key}.json`) };
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
      // The metadata first: the data file's presence is what makes the object exist.
      await writeAtomically(paths.meta, Buffer.from(JSON.stringify({ contentType })));
      await writeAtomically(paths.file, body);
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
  };
}
