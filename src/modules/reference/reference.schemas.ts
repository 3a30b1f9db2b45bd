import { Type } from 'typebox';
import { ACCESS_PERMISSIONS, PERMISSIONS } from '../../lib/permissions.ts';

/** The three accesses (roles) of src/db/reference-data.ts, wherever an answer or a filter names one. */
export const AccessCode = Type.Enum(['admin', 'manager', 'agent']);

export const StageKind = Type.Enum(['open', 'won', 'lost'], {
  description: '`open` stages are the pipeline; `won` and `lost` close a lead.',
});

export const StageJson = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    code: Type.String({
      description: 'Stable: `new`, `contacted`, `qualified`, `appointment_set`, `proposal`, `won`, `lost`.',
    }),
    position: Type.Integer(),
    kind: StageKind,
  },
  {
    title: 'Stage',
    description: 'A stage of the lead pipeline (reference data, the same for every company).',
    examples: [{ id: 2, name: 'Contacted', code: 'contacted', position: 2, kind: 'open' }],
  },
);

export const AccessJson = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    code: AccessCode,
    permissions: Type.Array(Type.Enum([...PERMISSIONS])),
  },
  {
    title: 'Access',
    description: 'A role a user holds in a company, and what it may do there and in its descendants.',
    examples: [
      {
        id: 3,
        name: 'Sales agent',
        code: 'agent',
        // The agent's permissions as the code grants them, so the example cannot drift from them.
        permissions: [...ACCESS_PERMISSIONS.agent],
      },
    ],
  },
);

export const AccessParams = Type.Object({ access_id: Type.Integer({ minimum: 1 }) });
