import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, type Storage } from '../../src/lib/storage/index.ts';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createUser, type TestUser } from '../helpers/factories.ts';
import { avatarUpload, multipart, testImage } from '../helpers/multipart.ts';
import { startS3 } from '../helpers/s3.ts';

let ctx: TestContext;
let storage: Storage;
beforeAll(async () => {
  ctx = await buildTestApp();
  storage = createStorage(ctx.config);
});
afterAll(() => ctx.close());

const ROUTE = /^\/api\/v1\/avatars\/(users|companies)\/([a-f0-9]{32}\.(?:png|jpg|webp|gif))$/;

/** The storage key behind an avatar_route. */
function keyOf(route: string): string {
  const match = ROUTE.exec(route);
  if (!match) throw new Error(`not an avatar route: ${route}`);
  return `avatars/${match[1]}/${match[2]}`;
}

async function stored(route: string): Promise<Buffer | undefined> {
  const object = await storage.get(keyOf(route));
  if (!object) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function upload(user: TestUser, url: string, image?: Buffer | Awaited<ReturnType<typeof multipart>>) {
  const form = Buffer.isBuffer(image) || image === undefined ? await avatarUpload(image) : image;
  return call(ctx.app, 'POST', url, { token: user.token, body: form.body, headers: form.headers });
}

/** A PNG whose header claims `width`×`height` (with a valid CRC) over the pixel data of a tiny image. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await testImage('png', 8, 8));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}

describe('user avatars', () => {
  it('uploads, serves, replaces and removes your own avatar; the old object is deleted each time', async () => {
    const user = await createUser(ctx);
    const big = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const first = await upload(user, `/api/v1/users/${user.id}/avatar`, big);
    expect(first.statusCode).toBe(200);
    expect(first.body_json.user).toMatchObject({ id: user.id, email: user.email });
    const route = first.body_json.user.avatar_route as string;
    expect(route).toMatch(ROUTE);
    expect(route).toMatch(/\.png$/);

    const served = await call(ctx.app, 'GET', route);
    expect(served.statusCode).toBe(200);
    expect(served.headers).toMatchObject({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'content-disposition': 'inline',
    });
    expect(served.headers['cache-control']).toContain('immutable');
    const metadata = await sharp(served.rawPayload).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 512, height: 341 });
    expect(Number(served.headers['content-length'])).toBe(served.rawPayload.length);

    const shown = await call(ctx.app, 'GET', `/api/v1/users/${user.id}`, { token: user.token });
    expect(shown.body_json.user.avatar_route).toBe(route);

    const second = await upload(user, `/api/v1/users/${user.id}/avatar`, await testImage('webp'));
    expect(second.statusCode).toBe(200);
    const replaced = second.body_json.user.avatar_route as string;
    expect(replaced).toMatch(/\.webp$/);
    expect(replaced).not.toBe(route);
    expect(await stored(route)).toBeUndefined();
    expect((await call(ctx.app, 'GET', route)).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', replaced)).headers['content-type']).toBe('image/webp');

    const removed = await call(ctx.app, 'DELETE', `/api/v1/users/${user.id}/avatar`, { token: user.token });
    expect(removed.statusCode).toBe(200);
    expect(removed.body_json.user).toMatchObject({ id: user.id, avatar_route: null });
    expect(await stored(replaced)).toBeUndefined();
    const again = await call(ctx.app, 'DELETE', `/api/v1/users/${user.id}/avatar`, { token: user.token });
    expect(again.statusCode).toBe(200);
    expect(again.body_json.user.avatar_route).toBeNull();
  });

  it('applies the EXIF orientation, then strips every piece of metadata', async () => {
    const user = await createUser(ctx);
    const jpeg = await sharp({ create: { width: 600, height: 300, channels: 3, background: '#00aa44' } })
      .jpeg()
      .withExif({ IFD0: { Artist: 'Someone', Copyright: 'secret-exif-marker' } })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    const response = await upload(user, `/api/v1/users/${user.id}/avatar`, jpeg);
    expect(response.statusCode).toBe(200);
    const route = response.body_json.user.avatar_route as string;
    expect(route).toMatch(/\.jpg$/);
    const served = await call(ctx.app, 'GET', route);
    expect(served.headers['content-type']).toBe('image/jpeg');
    const metadata = await sharp(served.rawPayload).metadata();
    expect(metadata).toMatchObject({ format: 'jpeg', width: 256, height: 512 });
    expect(metadata.exif).toBeUndefined();
    expect(metadata.icc).toBeUndefined();
    expect(metadata.xmp).toBeUndefined();
    expect(metadata.orientation).toBeUndefined();
    expect(served.rawPayload.includes('secret-exif-marker')).toBe(false);
  });

  it('keeps small images at their size and GIFs as GIF', async () => {
    const user = await createUser(ctx);
    const response = await upload(user, `/api/v1/users/${user.id}/avatar`, await testImage('gif', 40, 30));
    expect(response.statusCode).toBe(200);
    const served = await call(ctx.app, 'GET', response.body_json.user.avatar_route);
    expect(served.headers['content-type']).toBe('image/gif');
    expect(await sharp(served.rawPayload).metadata()).toMatchObject({ format: 'gif', width: 40, height: 30 });
  });

  it('decides the type by content: a text file named .png is 415, and nothing is stored', async () => {
    const user = await createUser(ctx);
    const form = await multipart({
      avatar: { data: Buffer.from('hello, not an image'), filename: 'a.png', type: 'image/png' },
    });
    const response = await upload(user, `/api/v1/users/${user.id}/avatar`, form);
    expect(response.statusCode).toBe(415);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body_json.code).toBe('unsupported_media_type');
    const svg = await multipart({
      avatar: {
        data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
        filename: 'a.svg',
        type: 'image/svg+xml',
      },
    });
    expect((await upload(user, `/api/v1/users/${user.id}/avatar`, svg)).statusCode).toBe(415);
    const shown = await call(ctx.app, 'GET', `/api/v1/users/${user.id}`, { token: user.token });
    expect(shown.body_json.user.avatar_route).toBeNull();
  });

  it('accepts a real image whatever its declared name and type', async () => {
    const user = await createUser(ctx);
    const form = await multipart({
      avatar: { data: await testImage('jpeg'), filename: 'notes.txt', type: 'text/plain' },
    });
    const response = await upload(user, `/api/v1/users/${user.id}/avatar`, form);
    expect(response.statusCode).toBe(200);
    expect(response.body_json.user.avatar_route).toMatch(/\.jpg$/);
  });

  it('drops what follows the image: a polyglot with a script or a ZIP tail is stored without it', async () => {
    const user = await createUser(ctx);
    const png = await testImage('png');
    const script = Buffer.concat([png, Buffer.from('<script>alert("polyglot")</script>')]);
    const zip = Buffer.concat([png, Buffer.from('PK\x03\x04\x14\x00\x00\x00zip-payload-entry.html', 'latin1')]);
    for (const [payload, marker] of [
      [script, '<script>'],
      [zip, 'zip-payload-entry'],
    ] as const) {
      const response = await upload(user, `/api/v1/users/${user.id}/avatar`, payload);
      expect(response.statusCode).toBe(200);
      const bytes = await stored(response.body_json.user.avatar_route);
      expect(bytes).toBeDefined();
      expect(bytes!.includes(marker)).toBe(false);
      expect(bytes!.includes('PK\x03\x04')).toBe(false);
      expect((await sharp(bytes).metadata()).format).toBe('png');
    }
  });

  it('refuses a file over 5 MB with 413', async () => {
    const user = await createUser(ctx);
    const huge = Buffer.concat([await testImage('png'), Buffer.alloc(5 * 1024 * 1024)]);
    const response = await upload(user, `/api/v1/users/${user.id}/avatar`, huge);
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body_json.code).toBe('payload_too_large');
  });

  it('refuses a decompression bomb (a header claiming 20000×20000) and a corrupt image with 422', async () => {
    const user = await createUser(ctx);
    const bomb = await upload(user, `/api/v1/users/${user.id}/avatar`, await pngClaiming(20_000, 20_000));
    expect(bomb.statusCode).toBe(422);
    expect(bomb.body_json).toMatchObject({ code: 'image_too_large', errors: [{ field: 'avatar' }] });
    const png = await testImage('png');
    const corrupt = await upload(user, `/api/v1/users/${user.id}/avatar`, png.subarray(0, png.length - 30));
    expect(corrupt.statusCode).toBe(422);
    expect(corrupt.body_json.code).toBe('invalid_image');
    const header = await upload(
      user,
      `/api/v1/users/${user.id}/avatar`,
      Buffer.from('\x89PNG\r\n\x1A\nnothing', 'latin1'),
    );
    expect(header.statusCode).toBe(422);
  });

  it('needs a file part named avatar (422), sent as multipart (415)', async () => {
    const user = await createUser(ctx);
    const url = `/api/v1/users/${user.id}/avatar`;
    const wrongName = await multipart({
      picture: { data: await testImage('png'), filename: 'a.png', type: 'image/png' },
    });
    const missing = await upload(user, url, wrongName);
    expect(missing.statusCode).toBe(422);
    expect(missing.body_json.errors).toEqual([expect.objectContaining({ field: 'avatar', code: 'required' })]);
    expect((await upload(user, url, await multipart({ avatar: 'just text' }))).statusCode).toBe(422);
    const json = await call(ctx.app, 'POST', url, { token: user.token, body: { avatar: 'x' } });
    expect(json.statusCode).toBe(415);
    expect(json.body_json.code).toBe('unsupported_media_type');
    expect((await call(ctx.app, 'POST', url, { token: user.token })).statusCode).toBe(415);
  });

  it('answers 400, not 500, to a broken multipart body', async () => {
    const user = await createUser(ctx);
    const form = await avatarUpload();
    for (const [body, type] of [
      [form.body.subarray(0, form.body.length - 20), form.headers['content-type']],
      [Buffer.from('garbage'), 'multipart/form-data'],
    ] as const) {
      const response = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/avatar`, {
        token: user.token,
        body,
        headers: { 'content-type': type },
      });
      expect(response.statusCode).toBe(400);
      expect(response.body_json.code).toBe('bad_request');
    }
  });

  it('is for yourself and platform staff: 403 for one who can see the user, 404 for others, 401 without a token', async () => {
    const { admin, agent, outsider } = await companyWithTeam(ctx);
    const url = `/api/v1/users/${agent.id}/avatar`;
    // The admin can see the agent (a member of their company) but may not change their profile.
    expect((await upload(admin, url)).statusCode).toBe(403);
    expect((await call(ctx.app, 'DELETE', url, { token: admin.token })).statusCode).toBe(403);
    expect((await upload(outsider, url)).statusCode).toBe(404);
    expect((await call(ctx.app, 'DELETE', url, { token: outsider.token })).statusCode).toBe(404);
    // Agents do not see the members of their company.
    expect((await upload(agent, `/api/v1/users/${admin.id}/avatar`)).statusCode).toBe(404);
    expect((await upload(agent, '/api/v1/users/999999999/avatar')).statusCode).toBe(404);
    const form = await avatarUpload();
    expect((await call(ctx.app, 'POST', url, { body: form.body, headers: form.headers })).statusCode).toBe(401);
    expect((await call(ctx.app, 'DELETE', url)).statusCode).toBe(401);

    const staff = await createUser(ctx, { superadmin: true });
    const byStaff = await upload(staff, url);
    expect(byStaff.statusCode).toBe(200);
    expect(byStaff.body_json.user).toMatchObject({ id: agent.id, avatar_route: expect.stringMatching(ROUTE) });
    const removed = await call(ctx.app, 'DELETE', url, { token: staff.token });
    expect(removed.body_json.user.avatar_route).toBeNull();
  });
});

describe('company avatars', () => {
  it('admins upload, replace and remove it; the company JSON carries the route and the caller access', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}/avatar`;
    const first = await upload(admin, url);
    expect(first.statusCode).toBe(200);
    expect(first.body_json.company).toMatchObject({
      id: company.id,
      name: company.name,
      access: { code: 'admin', inherited: false },
      avatar_route: expect.stringMatching(/^\/api\/v1\/avatars\/companies\//),
    });
    const route = first.body_json.company.avatar_route as string;
    const served = await call(ctx.app, 'GET', route);
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
    const shown = await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: admin.token });
    expect(shown.body_json.company.avatar_route).toBe(route);

    const second = await upload(admin, url, await testImage('jpeg'));
    expect(second.statusCode).toBe(200);
    expect(await stored(route)).toBeUndefined();
    const replaced = second.body_json.company.avatar_route as string;
    expect(await stored(replaced)).toBeDefined();

    const removed = await call(ctx.app, 'DELETE', url, { token: admin.token });
    expect(removed.statusCode).toBe(200);
    expect(removed.body_json.company).toMatchObject({ id: company.id, avatar_route: null, access: { code: 'admin' } });
    expect(await stored(replaced)).toBeUndefined();
  });

  it('is for admins: managers and agents get 403, outsiders 404, and nothing changes', async () => {
    const { company, manager, agent, outsider } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}/avatar`;
    for (const [user, status] of [
      [manager, 403],
      [agent, 403],
      [outsider, 404],
    ] as const) {
      expect((await upload(user, url)).statusCode).toBe(status);
      expect((await call(ctx.app, 'DELETE', url, { token: user.token })).statusCode).toBe(status);
    }
    expect((await upload(outsider, '/api/v1/companies/999999999/avatar')).statusCode).toBe(404);
    const shown = await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: manager.token });
    expect(shown.body_json.company.avatar_route).toBeNull();
  });

  it('checks the image like user avatars do', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}/avatar`;
    const text = await multipart({ avatar: { data: Buffer.from('GIF8 but not really'), filename: 'x.gif' } });
    expect((await upload(admin, url, text)).statusCode).toBe(415);
    expect((await upload(admin, url, await pngClaiming(20_000, 20_000))).statusCode).toBe(422);
  });
});

describe('serving avatars', () => {
  it('answers 404 problem+json for an unknown or malformed key', async () => {
    for (const url of [
      `/api/v1/avatars/users/${'0'.repeat(32)}.png`,
      '/api/v1/avatars/companies/abc.png',
      '/api/v1/avatars/users/..%2F..%2Fjwt-secret',
    ]) {
      const response = await call(ctx.app, 'GET', url);
      expect(response.statusCode, url).toBe(404);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('does not serve another owner kind under the same key', async () => {
    const user = await createUser(ctx);
    const route = (await upload(user, `/api/v1/users/${user.id}/avatar`)).body_json.user.avatar_route as string;
    expect((await call(ctx.app, 'GET', route.replace('/users/', '/companies/'))).statusCode).toBe(404);
  });

  it('answers HEAD with the headers only', async () => {
    const user = await createUser(ctx);
    const route = (await upload(user, `/api/v1/users/${user.id}/avatar`)).body_json.user.avatar_route as string;
    const head = await call(ctx.app, 'HEAD', route);
    expect(head.statusCode).toBe(200);
    expect(head.headers).toMatchObject({ 'content-type': 'image/png', 'x-content-type-options': 'nosniff' });
    expect(head.rawPayload.length).toBe(0);
  });
});

describe('avatars on S3-compatible storage', () => {
  it('stores, serves and deletes through the S3 driver (s3rver)', async () => {
    const s3 = await startS3();
    const s3ctx = await buildTestApp(s3.env);
    try {
      expect(s3ctx.config.storageDriver).toBe('s3');
      const s3storage = createStorage(s3ctx.config);
      const user = await createUser(s3ctx);
      const form = await avatarUpload(await testImage('webp', 900, 900));
      const response = await call(s3ctx.app, 'POST', `/api/v1/users/${user.id}/avatar`, {
        token: user.token,
        body: form.body,
        headers: form.headers,
      });
      expect(response.statusCode).toBe(200);
      const route = response.body_json.user.avatar_route as string;
      const object = await s3storage.get(keyOf(route));
      expect(object).toMatchObject({ contentType: 'image/webp' });
      object?.body.destroy();
      const served = await call(s3ctx.app, 'GET', route);
      expect(served.statusCode).toBe(200);
      expect(served.headers['content-type']).toBe('image/webp');
      expect(await sharp(served.rawPayload).metadata()).toMatchObject({ format: 'webp', width: 512, height: 512 });

      await call(s3ctx.app, 'DELETE', `/api/v1/users/${user.id}/avatar`, { token: user.token });
      expect(await s3storage.get(keyOf(route))).toBeUndefined();
      await s3storage.close?.();
    } finally {
      await s3ctx.close();
      await s3.close();
    }
  });
});
