import sharp from 'sharp';

export type FilePart = { data: Buffer | Uint8Array; filename?: string; type?: string };

/** A multipart/form-data body as `call()` sends it: the bytes and their content-type header (with the boundary). */
export async function multipart(parts: Record<string, FilePart | string>) {
  const form = new FormData();
  for (const [name, part] of Object.entries(parts)) {
    if (typeof part === 'string') form.append(name, part);
    else
      form.append(
        name,
        new Blob([part.data], { type: part.type ?? 'application/octet-stream' }),
        part.filename ?? name,
      );
  }
  const response = new Response(form);
  return {
    body: Buffer.from(await response.arrayBuffer()),
    headers: { 'content-type': response.headers.get('content-type') ?? '' },
  };
}

/** A solid-colour test image. */
export function testImage(format: 'png' | 'jpeg' | 'webp' | 'gif', width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    [format]()
    .toBuffer();
}

/** A multipart body with one valid PNG in the field `avatar`. */
export async function avatarUpload(image?: Buffer) {
  return multipart({ avatar: { data: image ?? (await testImage('png')), filename: 'avatar.png', type: 'image/png' } });
}
