import { Type } from 'typebox';
import { CompanyJson } from '../companies/companies.schemas.ts';
import { UserJson } from '../users/users.schemas.ts';
import { AVATAR_MAX_BYTES, AVATAR_MAX_SIDE, AVATAR_TYPES } from './avatars.image.ts';

export const UserEnvelope = Type.Object({ user: UserJson });
export const CompanyEnvelope = Type.Object({ company: CompanyJson });

/** Documents the multipart body; the handler reads it as a stream, after authorization (see avatars.routes.ts). */
export const AvatarUpload = {
  content: {
    'multipart/form-data': {
      schema: Type.Object(
        {
          avatar: Type.String({
            format: 'binary',
            description:
              `A JPEG, PNG, WebP or GIF image of at most ${AVATAR_MAX_BYTES / 1024 / 1024} MB (the type is read from ` +
              'the content, not the file name or declared type).',
          }),
        },
        // A file part: reference UIs show a file picker; the example names the file a person would pick.
        { examples: [{ avatar: 'avatar.png' }] },
      ),
    },
  },
};

export const AvatarParams = Type.Object({
  owner: Type.Enum(['users', 'companies']),
  key: Type.String({ minLength: 1, maxLength: 64 }),
});

const binary = { schema: { type: 'string', format: 'binary' } };
export const ImageResponse = {
  description: `The image, at most ${AVATAR_MAX_SIDE}×${AVATAR_MAX_SIDE}, in the type it was stored as.`,
  content: Object.fromEntries(Object.values(AVATAR_TYPES).map((type) => [type.contentType, binary])),
};

export const UPLOAD_DESCRIPTION =
  `Multipart field \`avatar\`, at most ${AVATAR_MAX_BYTES / 1024 / 1024} MB. The type is decided by the content ` +
  '(JPEG, PNG, WebP or GIF; anything else 415). The image is decoded and re-encoded: EXIF orientation applied, ' +
  `then all metadata and any trailing bytes dropped, resized to fit ${AVATAR_MAX_SIDE}×${AVATAR_MAX_SIDE} ` +
  'without enlargement, stored in its own format (animated GIF and WebP keep their first frame). An image over ' +
  '25 megapixels or that cannot be decoded is 422. The previous avatar is deleted; `avatar_route` changes on each ' +
  'upload.';
