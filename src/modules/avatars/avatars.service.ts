import { randomBytes } from 'node:crypto';
import type { Db, Executor } from '../../db/client.ts';
import { forbidden, notFound } from '../../lib/errors.ts';
import type { Principal } from '../../lib/permissions.ts';
import type { Storage, StoredObject } from '../../lib/storage/index.ts';
import { isSelfOrStaff } from '../authz/authz.policies.ts';
import type { UsersService } from '../users/users.service.ts';
import { AVATAR_TYPES, reencodeAvatar } from './avatars.image.ts';
import { swapCompanyAvatar, swapUserAvatar } from './avatars.repository.ts';

export type AvatarOwner = 'users' | 'companies';

/** 128 random bits: the key is the only secret of a public avatar URL. */
const KEY = /^[a-f0-9]{32}\.(jpg|png|webp|gif)$/;
const SERVED_TYPES = new Set(Object.values(AVATAR_TYPES).map((type) => type.contentType));

export const avatarStorageKey = (owner: AvatarOwner, key: string) => `avatars/${owner}/${key}`;

/** Reads the uploaded bytes; called only once the caller is known to be allowed. */
export type ReadUpload = () => Promise<Buffer>;

type Swap<T> = (tx: Executor, key: string | null) => Promise<{ row: T; previous: string | null } | undefined>;

export function createAvatarsService(deps: {
  db: Db;
  storage: Storage;
  users: Pick<UsersService, 'visible'>;
  log: { warn(obj: unknown, msg?: string): void };
}) {
  const { db, storage, users, log } = deps;

  async function discard(owner: AvatarOwner, key: string) {
    // A failed delete leaves an orphan object behind, never a user pointing at a missing image. The key is not
    // logged: it is the unguessable URL of an image that is still served.
    await storage
      .delete(avatarStorageKey(owner, key))
      .catch((error: unknown) => log.warn({ err: error, owner }, 'could not delete a replaced avatar'));
  }

  async function store(owner: AvatarOwner, read: ReadUpload): Promise<string> {
    const avatar = await reencodeAvatar(await read());
    const key = `${randomBytes(16).toString('hex')}.${avatar.extension}`;
    await storage.put(avatarStorageKey(owner, key), avatar.data, avatar.contentType);
    return key;
  }

  /** Points the row at `key` (null: no avatar); the replaced object is deleted only after the commit. */
  async function replace<T>(owner: AvatarOwner, key: string | null, swap: Swap<T>, what: string): Promise<T> {
    const result = await db
      .transaction((tx) => swap(tx, key))
      .catch(async (error: unknown) => {
        if (key) await discard(owner, key);
        throw error;
      });
    if (!result) {
      if (key) await discard(owner, key);
      throw notFound(what);
    }
    if (result.previous && result.previous !== key) await discard(owner, result.previous);
    return result.row;
  }

  /** Self or platform staff; 404 when the user is not even visible (usersService.visible), else 403. */
  async function assertMayEditUser(principal: Principal, userId: number) {
    await users.visible(principal, userId);
    if (!isSelfOrStaff(principal, userId)) {
      throw forbidden("Only the user and platform staff may change a user's avatar.");
    }
  }

  return {
    async setUserAvatar(principal: Principal, userId: number, read: ReadUpload) {
      await assertMayEditUser(principal, userId);
      const key = await store('users', read);
      return replace('users', key, (tx, next) => swapUserAvatar(tx, userId, next), 'User');
    },

    async removeUserAvatar(principal: Principal, userId: number) {
      await assertMayEditUser(principal, userId);
      return replace('users', null, (tx, next) => swapUserAvatar(tx, userId, next), 'User');
    },

    /** The caller's `companies:write` is checked by the route's policy. */
    async setCompanyAvatar(companyId: number, read: ReadUpload) {
      const key = await store('companies', read);
      return replace('companies', key, (tx, next) => swapCompanyAvatar(tx, companyId, next), 'Company');
    },

    async removeCompanyAvatar(companyId: number) {
      return replace('companies', null, (tx, next) => swapCompanyAvatar(tx, companyId, next), 'Company');
    },

    async open(owner: AvatarOwner, key: string): Promise<StoredObject> {
      const object = KEY.test(key) ? await storage.get(avatarStorageKey(owner, key)) : undefined;
      if (!object) throw notFound('Avatar');
      // Only image types are ever served from this route, whatever the store says.
      return SERVED_TYPES.has(object.contentType) ? object : { ...object, contentType: 'application/octet-stream' };
    },
  };
}

export type AvatarsService = ReturnType<typeof createAvatarsService>;
