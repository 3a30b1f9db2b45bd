import { join } from 'node:path';
import type { Config } from '../../config.ts';
import { createLocalStorage } from './local.ts';
import type { Storage } from './storage.ts';

export { createLocalStorage, sweepTemporaryFiles, TEMP_MAX_AGE_MS } from './local.ts';
export * from './storage.ts';

/** A storage whose driver loads on first use: the S3 SDK holds ~25 MB that a local setup never needs. */
function loadedOnUse(load: () => Promise<Storage>): Storage {
  let loading: Promise<Storage> | undefined;
  const storage = () => {
    loading ??= load();
    return loading;
  };
  return {
    put: async (key, body, contentType) => (await storage()).put(key, body, contentType),
    get: async (key) => (await storage()).get(key),
    delete: async (key) => (await storage()).delete(key),
    close: async () => {
      if (loading) await (await loading).close?.();
    },
  };
}

/** The driver the configuration names: a directory under DATA_DIR by default, S3 with STORAGE_DRIVER=s3. */
export function createStorage(config: Pick<Config, 'dataDir' | 'storageDriver' | 's3'>): Storage {
  if (config.storageDriver === 's3') {
    if (!config.s3) throw new Error('STORAGE_DRIVER=s3 needs the S3_* settings');
    const s3 = config.s3;
    return loadedOnUse(async () => (await import('./s3.ts')).createS3Storage(s3));
  }
  return createLocalStorage(join(config.dataDir, 'files'));
}
