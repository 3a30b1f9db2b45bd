import { type Static, Type } from 'typebox';
import type { AcceptanceRow, LegalTermRow } from './legal-terms.repository.ts';

const Id = Type.Integer({ minimum: 1 });
const Kind = Type.Union([Type.Literal('terms_of_service'), Type.Literal('privacy')]);

/** Stored user agents are cut to this length: the header is client-controlled and unbounded otherwise. */
export const USER_AGENT_MAX = 512;

export const LegalTermJson = Type.Object({
  id: Type.Integer(),
  kind: Kind,
  version: Type.String(),
  title: Type.String(),
  body: Type.String(),
  published_at: Type.String({ format: 'date-time' }),
});

export const LegalTermAcceptanceJson = Type.Object({
  id: Type.Integer(),
  legal_term_id: Type.Integer(),
  kind: Kind,
  version: Type.String(),
  accepted_at: Type.String({ format: 'date-time' }),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'The client address the acceptance came from.' }),
  user_agent: Type.Union([Type.String({ maxLength: USER_AGENT_MAX }), Type.Null()]),
});

export const LegalTermAcceptanceEnvelope = Type.Object({ legal_term_acceptance: LegalTermAcceptanceJson });

export const LegalTermParams = Type.Object({ legal_term_id: Id });
export const UserParams = Type.Object({ user_id: Id });

export const AcceptLegalTermBody = Type.Object({ legal_term_id: Id }, { additionalProperties: false });

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
