/** Where a user's or a company's avatar is served (GET /api/v1/avatars/{kind}/{key}); null without one. */
export const avatarRoute = (kind: 'users' | 'companies', key: string | null) =>
  key === null ? null : `/api/v1/avatars/${kind}/${key}`;
