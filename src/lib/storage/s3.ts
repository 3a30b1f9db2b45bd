import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../../config.ts';
import { assertValidKey, type Storage } from './storage.ts';

/** S3's minimum part size is 5 MiB; 8 MiB keeps a 50 MB import to 7 requests and one part in memory at a time. */
export const PART_SIZE = 8 * 1024 * 1024;

/** Cuts a stream into PART_SIZE buffers (the last one shorter; one empty buffer for an empty stream). */
async function* partsOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let chunks: Buffer[] = [];
  let length = 0;
  let yielded = false;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    length += buffer.length;
    while (length >= size) {
      const all = Buffer.concat(chunks, length);
      yield all.subarray(0, size);
      yielded = true;
      chunks = [all.subarray(size)];
      length -= size;
    }
  }
  if (length > 0 || !yielded) yield Buffer.concat(chunks, length);
}

const isMissing = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

/**
 * Any S3-compatible object store (AWS S3, MinIO, R2, Ceph…). Checksums are sent only when the operation requires
 * them: the SDK's default trailing checksums are not understood by every S3-compatible server.
 */
export function createS3Storage(config: S3Config): Storage {
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = config.bucket;

  const putOne = (Key: string, body: Buffer, ContentType: string) =>
    client.send(new PutObjectCommand({ Bucket, Key, Body: body, ContentType, ContentLength: body.length }));

  /** A stream of unknown length: one PUT when it fits in a part, else a multipart upload, aborted on failure. */
  async function putStream(Key: string, stream: Readable, ContentType: string) {
    const parts = partsOf(stream, PART_SIZE);
    const first = await parts.next();
    const second = await parts.next();
    if (second.done) return void (await putOne(Key, first.value ?? Buffer.alloc(0), ContentType));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType }));
    const done: { ETag: string | undefined; PartNumber: number }[] = [];
    try {
      const upload = async (body: Buffer) => {
        const PartNumber = done.length + 1;
        const part = { Bucket, Key, UploadId, PartNumber, Body: body, ContentLength: body.length };
        const { ETag } = await client.send(new UploadPartCommand(part));
        done.push({ ETag, PartNumber });
      };
      await upload(first.value as Buffer);
      await upload(second.value);
      for await (const body of parts) await upload(body);
      await client.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: done } }),
      );
    } catch (error) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => {});
      throw error;
    }
  }

  return {
    async put(key, body, contentType) {
      assertValidKey(key);
      if (Buffer.isBuffer(body)) await putOne(key, body, contentType);
      else await putStream(key, body, contentType);
    },

    async get(key) {
      assertValidKey(key);
      try {
        const object = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        if (!(object.Body instanceof Readable)) throw new Error('S3 returned a body that is not a Node stream');
        return {
          body: object.Body,
          contentType: object.ContentType ?? 'application/octet-stream',
          size: Number(object.ContentLength ?? 0),
        };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },

    async delete(key) {
      assertValidKey(key);
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },

    async close() {
      client.destroy();
    },
  };
}
