import { Type } from 'typebox';
import { PERMISSIONS } from '../../lib/permissions.ts';

export const StageJson = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  code: Type.String(),
  position: Type.Integer(),
  kind: Type.Union([Type.Literal('open'), Type.Literal('won'), Type.Literal('lost')]),
});

export const AccessJson = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  code: Type.String(),
  permissions: Type.Array(Type.Enum([...PERMISSIONS])),
});

export const AccessParams = Type.Object({ access_id: Type.Integer({ minimum: 1 }) });
