import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { fieldError, invalid, payloadTooLarge, unsupportedMediaType } from '../../lib/errors.ts';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { multipartClientError, streamedBody } from '../../plugins/multipart.ts';
import type { CompanyRow } from '../companies/companies.repository.ts';
import { CompanyParams, presentCompany } from '../companies/companies.schemas.ts';
import type { CompaniesService } from '../companies/companies.service.ts';
import { presentUser, UserParams } from '../users/users.schemas.ts';
import { AVATAR_MAX_BYTES } from './avatars.image.ts';
import {
  AvatarParams,
  AvatarUpload,
  CompanyEnvelope,
  ImageResponse,
  UPLOAD_DESCRIPTION,
  UserEnvelope,
} from './avatars.schemas.ts';
import type { AvatarsService } from './avatars.service.ts';

const tooLarge = () =>
  payloadTooLarge(`The avatar must be at most ${AVATAR_MAX_BYTES / 1024 / 1024} MB (${AVATAR_MAX_BYTES} bytes).`);

/** The one file part named `avatar`, buffered (≤ 5 MB: sharp needs the whole image anyway). */
async function readAvatar(request: FastifyRequest): Promise<Buffer> {
  if (!request.isMultipart()) {
    throw unsupportedMediaType('Send multipart/form-data with the image in the field `avatar`.');
  }
  try {
    const part = await request.file();
    if (part?.fieldname !== 'avatar') {
      part?.file.resume();
      throw invalid([fieldError('avatar', 'required', 'must be a file part named avatar')]);
    }
    return await part.toBuffer();
  } catch (error) {
    throw multipartClientError(error, tooLarge);
  }
}

const cacheForever = 'public, max-age=31536000, immutable';

export const avatarsRoutes: FastifyPluginAsyncTypebox<{
  service: AvatarsService;
  companies: Pick<CompaniesService, 'describeAccess' | 'plan'>;
}> = async (app, { service, companies }) => {
  // Registered here only: multipart is accepted by these routes and refused (415) everywhere else.
  await app.register(multipart, {
    limits: { fileSize: AVATAR_MAX_BYTES, files: 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 100 },
  });
  const validatorCompiler = streamedBody(app);
  // As the companies routes present it: with the caller's access and the plan in force.
  const present = async (company: CompanyRow, request: FastifyRequest) =>
    presentCompany(company, await companies.describeAccess(accessOf(request)), await companies.plan(company.id));
  const notYours = problemResponse(
    "Not your profile (you can see this user's), or an API key (`api_key_not_allowed`).",
  );
  const notVisible = problemResponse('No such user, or not visible to you.');
  const uploadErrors = {
    400: problemResponse('The multipart body is malformed.'),
    413: problemResponse('The file is larger than 5 MB.'),
    415: problemResponse('Not multipart, or the file is not a JPEG, PNG, WebP or GIF image.'),
  };

  app.post(
    '/api/v1/users/:user_id/avatar',
    {
      config: { policy: 'user' },
      validatorCompiler,
      schema: {
        operationId: 'uploadUserAvatar',
        tags: ['Users'],
        summary: 'Upload a user avatar',
        description: `Yourself, or platform staff. ${UPLOAD_DESCRIPTION}`,
        params: UserParams,
        body: AvatarUpload,
        response: {
          200: UserEnvelope,
          403: notYours,
          404: notVisible,
          ...uploadErrors,
        },
      },
    },
    async (request) => {
      const user = await service.setUserAvatar(principalOf(request), request.params.user_id, () => readAvatar(request));
      return { user: presentUser(user) };
    },
  );

  app.delete(
    '/api/v1/users/:user_id/avatar',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'deleteUserAvatar',
        tags: ['Users'],
        summary: 'Remove a user avatar',
        description: 'Yourself, or platform staff. `avatar_route` becomes null and the image is deleted.',
        params: UserParams,
        response: { 200: UserEnvelope, 403: notYours, 404: notVisible },
      },
    },
    async (request) => ({
      user: presentUser(await service.removeUserAvatar(principalOf(request), request.params.user_id)),
    }),
  );

  app.post(
    '/api/v1/companies/:company_id/avatar',
    {
      config: { policy: { permission: 'companies:write' } },
      validatorCompiler,
      schema: {
        operationId: 'uploadCompanyAvatar',
        tags: ['Companies'],
        summary: 'Upload a company avatar',
        description: `Administrators of the company. ${UPLOAD_DESCRIPTION}`,
        params: CompanyParams,
        body: AvatarUpload,
        response: { 200: CompanyEnvelope, ...uploadErrors },
      },
    },
    async (request) => {
      const company = await service.setCompanyAvatar(request.params.company_id, () => readAvatar(request));
      return { company: await present(company, request) };
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/avatar',
    {
      config: { policy: { permission: 'companies:write' } },
      schema: {
        operationId: 'deleteCompanyAvatar',
        tags: ['Companies'],
        summary: 'Remove a company avatar',
        description: 'Administrators of the company. `avatar_route` becomes null and the image is deleted.',
        params: CompanyParams,
        response: { 200: CompanyEnvelope },
      },
    },
    async (request) => {
      const company = await service.removeCompanyAvatar(request.params.company_id);
      return { company: await present(company, request) };
    },
  );

  app.get(
    '/api/v1/avatars/:owner/:key',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'getAvatar',
        tags: ['Avatars'],
        summary: 'Serve an avatar',
        description:
          'What `avatar_route` points to. Public, like a CDN URL: the key holds 128 random bits and changes on ' +
          'every upload, so the URL is unguessable and cached forever (`immutable`); a removed or replaced image ' +
          'is deleted and answers 404. Served with its stored image type and `X-Content-Type-Options: nosniff`.',
        params: AvatarParams,
        response: { 200: ImageResponse, 404: problemResponse('No such avatar (removed, replaced or never stored).') },
      },
    },
    async (request, reply) => {
      const object = await service.open(request.params.owner, request.params.key);
      return (
        reply
          .type(object.contentType)
          .header('content-length', object.size)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', cacheForever)
          .header('content-disposition', 'inline')
          // Images are shown by web apps on other origins (<img src>); nothing in them may run as a document.
          .header('cross-origin-resource-policy', 'cross-origin')
          .header('content-security-policy', "default-src 'none'; sandbox")
          .send(object.body)
      );
    },
  );
};
