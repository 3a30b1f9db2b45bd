import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../../src/config.ts';
import { createStorage, type Storage } from '../../src/lib/storage/index.ts';
import { PART_SIZE } from '../../src/lib/storage/s3.ts';
import { startS3 } from '../helpers/s3.ts';

async function read(storage: Storage, key: string) {
  const object = await storage.get(key);
  if (!object) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(chunk as Buffer);
  return { data: Buffer.concat(chunks), contentType: object.contentType, size: object.size };
}

/** A stream of `size` pseudo-random bytes in uneven chunks, and the digest they should hash to. */
function bigStream(size: number) {
  const data = randomBytes(size);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < size; offset += 777_777) chunks.push(data.subarray(offset, offset + 777_777));
  return { stream: Readable.from(chunks), sha: createHash('sha256').update(data).digest('hex') };
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The behaviour both drivers share. */
function contract(name: string, setup: () => Promise<{ storage: Storage; close(): Promise<void> }>) {
  describe(name, () => {
    let storage: Storage;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ storage, close } = await setup());
    });
    afterAll(() => close());

    it('puts a buffer, gets it back with its type and size, and deletes it', async () => {
      await storage.put('avatars/users/a1.png', Buffer.from('png bytes'), 'image/png');
      expect(await read(storage, 'avatars/users/a1.png')).toEqual({
        data: Buffer.from('png bytes'),
        contentType: 'image/png',
        size: 9,
      });
      await storage.delete('avatars/users/a1.png');
      expect(await storage.get('avatars/users/a1.png')).toBeUndefined();
    });

    it('answers undefined for a missing key, and deleting one is not an error', async () => {
      expect(await storage.get('nothing/here.bin')).toBeUndefined();
      await expect(storage.delete('nothing/here.bin')).resolves.toBeUndefined();
    });

    it('replaces an object put twice under one key', async () => {
      await storage.put('imports/1/file.csv', Buffer.from('first'), 'text/csv');
      await storage.put('imports/1/file.csv', Readable.from([Buffer.from('sec'), Buffer.from('ond')]), 'text/plain');
      expect(await read(storage, 'imports/1/file.csv')).toMatchObject({ data: Buffer.from('second'), size: 6 });
    });

    it('streams an object larger than one upload part through, byte for byte', async () => {
      const size = PART_SIZE + 1_234_567;
      const { stream, sha: expected } = bigStream(size);
      await storage.put('imports/2/big.csv', stream, 'text/csv');
      const object = await read(storage, 'imports/2/big.csv');
      expect(object?.size).toBe(size);
      expect(sha(object!.data)).toBe(expected);
    });

    it('stores an empty stream', async () => {
      await storage.put('imports/3/empty.csv', Readable.from([]), 'text/csv');
      expect(await read(storage, 'imports/3/empty.csv')).toMatchObject({ size: 0, data: Buffer.alloc(0) });
    });

    it('refuses keys that could escape the store or collide with its own files', async () => {
      for (const key of ['../etc/passwd', 'a/../../b', '/abs', 'a//b', '.meta/x', 'a/.tmp', '', 'a\\b', 'a/b/']) {
        await expect(storage.put(key, Buffer.from('x'), 'text/plain'), key).rejects.toThrow(/Invalid storage key/);
        await expect(storage.get(key), key).rejects.toThrow(/Invalid storage key/);
        await expect(storage.delete(key), key).rejects.toThrow(/Invalid storage key/);
      }
    });
  });
}

contract('local directory storage', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-storage-'));
  const storage = createStorage(loadConfig({ DATA_DIR: dataDir }));
  return {
    storage,
    async close() {
      // Every write went through a temporary file that was renamed: none is left behind.
      expect(readdirSync(join(dataDir, 'files', '.tmp'))).toEqual([]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

contract('S3 storage (against s3rver)', async () => {
  const s3 = await startS3();
  const storage = createStorage(loadConfig(s3.env));
  return {
    storage,
    async close() {
      await storage.close?.();
      await s3.close();
    },
  };
});

describe('local directory storage on disk', () => {
  it('keeps objects as plain files under DATA_DIR/files', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-storage-'));
    try {
      const storage = createStorage(loadConfig({ DATA_DIR: dataDir }));
      await storage.put('avatars/companies/k.webp', Buffer.from('webp'), 'image/webp');
      expect(readdirSync(join(dataDir, 'files', 'avatars', 'companies'))).toEqual(['k.webp']);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('storage configuration', () => {
  it('defaults to the local driver', () => {
    expect(loadConfig({})).toMatchObject({ storageDriver: 'local', s3: undefined });
  });

  it('reads the S3 settings with their defaults', () => {
    const env = { STORAGE_DRIVER: 's3', S3_BUCKET: 'files', S3_ACCESS_KEY_ID: 'id', S3_SECRET_ACCESS_KEY: 'secret' };
    expect(loadConfig(env).s3).toEqual({
      endpoint: undefined,
      region: 'us-east-1',
      bucket: 'files',
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      forcePathStyle: true,
    });
    expect(
      loadConfig({ ...env, S3_FORCE_PATH_STYLE: 'false', S3_REGION: 'eu-west-3', S3_ENDPOINT: 'https://s3.example' })
        .s3,
    ).toMatchObject({ forcePathStyle: false, region: 'eu-west-3', endpoint: 'https://s3.example' });
  });

  it('names every missing S3 setting, and a bad driver or flag', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ STORAGE_DRIVER: 's3' })).toEqual([
      'S3_BUCKET is required when STORAGE_DRIVER=s3',
      'S3_ACCESS_KEY_ID is required when STORAGE_DRIVER=s3',
      'S3_SECRET_ACCESS_KEY is required when STORAGE_DRIVER=s3',
    ]);
    expect(problems({ STORAGE_DRIVER: 'ftp' })).toEqual(['STORAGE_DRIVER must be local or s3 (got "ftp")']);
    expect(
      problems({
        STORAGE_DRIVER: 's3',
        S3_BUCKET: 'b',
        S3_ACCESS_KEY_ID: 'i',
        S3_SECRET_ACCESS_KEY: 's',
        S3_FORCE_PATH_STYLE: 'maybe',
        S3_ENDPOINT: 'ftp://x',
      }),
    ).toEqual(['S3_ENDPOINT must be a http: or https: URL', 'S3_FORCE_PATH_STYLE must be true or false']);
  });
});
