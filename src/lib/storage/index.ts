import { join } from 'node:path';
import type { Config } from '../../config.ts';
import { createLocalStorage } from './local.ts';
import { createS3Storage } from './s3.ts';
import type { Storage } from './storage.ts';

export { createLocalStorage } from './local.ts';
export { createS3Storage } from './s3.ts';
export * from './storage.ts';

/** The driver the configuration names: a directory under DATA_DIR by default, S3 with STORAGE_DRIVER=s3. */
export function createStorage(config: Pick<Config, 'dataDir' | 'storageDriver' | 's3'>): Storage {
  if (config.storageDriver === 's3') {
    if (!config.s3) throw new Error('STORAGE_DRIVER=s3 needs the S3_* settings');
    return createS3Storage(config.s3);
  }
  return createLocalStorage(join(config.dataDir, 'files'));
}
