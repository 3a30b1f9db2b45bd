import type { Readable } from 'node:stream';

/**
 * Where blobs live (avatars, import files): never in the database, never whole in the API process's memory.
 * Keys are relative paths like `avatars/users/3f…9a.webp`; both drivers accept the same keys.
 */
export type StoredObject = { body: Readable; contentType: string; size: number };

export type Storage = {
  /** Writes the whole object or nothing: a reader never sees half of it. Replaces an existing key. */
  put(key: string, body: Readable | Buffer, contentType: string): Promise<void>;
  /** Undefined when the key does not exist. The caller must consume or destroy `body`. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  close?(): Promise<void>;
};

export const MAX_KEY_LENGTH = 512;
// Each segment starts with a letter or digit: no `.`/`..`, no hidden names, no absolute paths, no backslashes.
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export class InvalidStorageKeyError extends Error {
  constructor(key: string) {
    super(`Invalid storage key: ${JSON.stringify(key.slice(0, 100))}`);
  }
}

export function isValidKey(key: string): boolean {
  return key.length <= MAX_KEY_LENGTH && KEY.test(key);
}

/** Keys are built by the application, never taken from a client as is: a bad one is a bug, so it throws. */
export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new InvalidStorageKeyError(key);
}
