import { AppError, unprocessable, unsupportedMediaType } from '../../lib/errors.ts';

export const AVATAR_MAX_BYTES = 5 * 1024 * 1024;
export const AVATAR_MAX_SIDE = 512;
/** Against decompression bombs: a few KB of PNG can claim 20000×20000 pixels (1.6 GB decoded). */
export const AVATAR_MAX_INPUT_PIXELS = 25_000_000;

export type AvatarFormat = 'jpeg' | 'png' | 'webp' | 'gif';

export const AVATAR_TYPES: Record<AvatarFormat, { contentType: string; extension: string }> = {
  jpeg: { contentType: 'image/jpeg', extension: 'jpg' },
  png: { contentType: 'image/png', extension: 'png' },
  webp: { contentType: 'image/webp', extension: 'webp' },
  gif: { contentType: 'image/gif', extension: 'gif' },
};

const startsWith = (bytes: Buffer, signature: string, offset = 0) =>
  bytes.subarray(offset, offset + signature.length).equals(Buffer.from(signature, 'latin1'));

/** The format the bytes say they are (magic numbers), whatever the file name or declared type claims. */
export function sniffImage(bytes: Buffer): AvatarFormat | undefined {
  if (startsWith(bytes, '\xFF\xD8\xFF')) return 'jpeg';
  if (startsWith(bytes, '\x89PNG\r\n\x1A\n')) return 'png';
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return 'gif';
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return 'webp';
  return undefined;
}

export type Avatar = { data: Buffer; format: AvatarFormat; contentType: string; extension: string };

/**
 * Decodes and re-encodes the image: only pixels survive. EXIF orientation is applied first, then every piece of
 * metadata (EXIF, GPS, XMP, ICC, comments) and anything after the image's end (polyglot payloads) is dropped.
 * Animated GIF and WebP keep their first frame.
 */
export async function reencodeAvatar(bytes: Buffer): Promise<Avatar> {
  const format = sniffImage(bytes);
  if (!format) throw unsupportedMediaType('The avatar must be a JPEG, PNG, WebP or GIF image.');
  // Loaded on first use: libvips is ~30 MB of memory that a process serving no avatars never needs.
  const { default: sharp } = await import('sharp');
  const image = () => sharp(bytes, { limitInputPixels: AVATAR_MAX_INPUT_PIXELS, failOn: 'error' });
  try {
    const metadata = await image().metadata();
    // A file that starts like a PNG but decodes as something else is not what it claims to be.
    if (metadata.format !== format) throw undecodable();
    const resized = image()
      .rotate()
      .resize(AVATAR_MAX_SIDE, AVATAR_MAX_SIDE, { fit: 'inside', withoutEnlargement: true });
    const encoded = {
      jpeg: () => resized.jpeg({ quality: 85, mozjpeg: true }),
      png: () => resized.png(),
      webp: () => resized.webp({ quality: 85 }),
      gif: () => resized.gif(),
    }[format]();
    return { data: await encoded.toBuffer(), format, ...AVATAR_TYPES[format] };
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (/pixel limit/i.test((error as Error).message)) {
      throw unprocessable(
        'image_too_large',
        `The image has more than ${AVATAR_MAX_INPUT_PIXELS.toLocaleString('en')} pixels.`,
        'avatar',
      );
    }
    throw undecodable();
  }
}

const undecodable = () => unprocessable('invalid_image', 'The image is corrupt or cannot be decoded.', 'avatar');
