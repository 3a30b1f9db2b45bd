import { type Static, Type } from 'typebox';
import type { AcceptanceRow, LegalTermRow } from './legal-terms.repository.ts';

const Id = Type.Integer({ minimum: 1 });
const Kind = Type.Enum(['terms_of_service', 'privacy']);

/** Stored user agents are cut to this length: the header is client-controlled and unbounded otherwise. */
export const USER_AGENT_MAX = 512;

export const LegalTermJson = Type.Object(
  {
    id: Type.Integer(),
    kind: Kind,
    version: Type.String(),
    title: Type.String(),
    body: Type.String(),
    published_at: Type.String({ format: 'date-time' }),
  },
  {
    title: 'LegalTerm',
    description: 'One published version of a legal document; the newest of each kind is the current one.',
    examples: [
      {
        id: 1,
        kind: 'terms_of_service',
        version: '2026-01-01',
        title: 'Leadsy Terms of Service',
        body: 'These terms govern the use of Leadsy by companies and their users.',
        published_at: '2026-01-01T00:00:00.000Z',
      },
    ],
  },
);

export const LegalTermAcceptanceJson = Type.Object(
  {
    id: Type.Integer(),
    legal_term_id: Type.Integer(),
    kind: Kind,
    version: Type.String(),
    accepted_at: Type.String({ format: 'date-time' }),
    ip: Type.Union([Type.String(), Type.Null()], { description: 'The client address the acceptance came from.' }),
    user_agent: Type.Union([Type.String({ maxLength: USER_AGENT_MAX }), Type.Null()]),
  },
  {
    title: 'LegalTermAcceptance',
    description: 'That a user accepted one version of a legal document: when, from where, with what.',
    examples: [
      {
        id: 7,
        legal_term_id: 1,
        kind: 'terms_of_service',
        version: '2026-01-01',
        accepted_at: '2026-03-02T09:05:00.000Z',
        ip: '203.0.113.24',
        user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 Safari/605.1.15',
      },
    ],
  },
);

export const LegalTermAcceptanceEnvelope = Type.Object({ legal_term_acceptance: LegalTermAcceptanceJson });

export const LegalTermParams = Type.Object({ legal_term_id: Id });
export const UserParams = Type.Object({ user_id: Id });

export const AcceptLegalTermBody = Type.Object(
  { legal_term_id: Type.Integer({ minimum: 1, description: 'A current version (GET /api/v1/legal_terms/current).' }) },
  { additionalProperties: false, title: 'LegalTermAcceptanceCreate', examples: [{ legal_term_id: 1 }] },
);

export type AcceptLegalTermInput = Static<typeof AcceptLegalTermBody>;

export function presentLegalTerm(row: LegalTermRow) {
  return {
    id: row.id,
    kind: row.kind,
    version: row.version,
    title: row.title,
    body: row.body,
    published_at: row.publishedAt.toISOString(),
  };
}

export function presentAcceptance(row: AcceptanceRow, term: LegalTermRow) {
  return {
    id: row.id,
    legal_term_id: row.legalTermId,
    kind: term.kind,
    version: term.version,
    accepted_at: row.acceptedAt.toISOString(),
    ip: row.ip,
    user_agent: row.userAgent,
  };
}
