import type { Db } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { notFound, unprocessable } from '../../lib/errors.ts';
import type { Principal } from '../../lib/permissions.ts';
import {
  currentTerms,
  findAcceptance,
  findTerm,
  insertAcceptance,
  type LegalTermRow,
} from './legal-terms.repository.ts';
import { USER_AGENT_MAX } from './legal-terms.schemas.ts';

/** Where an acceptance came from, as the request tells it. */
export type AcceptanceSource = { ip: string | undefined; userAgent: string | undefined };

/**
 * The users service's check that the caller is the user themself (404 for someone invisible, 403 for someone
 * visible): the users module shows whether a user accepted the terms, so this one does not import it.
 */
export type SelfCheck = { self(principal: Principal, userId: number): Promise<unknown> };

export function createLegalTermsService(deps: { db: Db; clock: Clock; users: SelfCheck }) {
  const { db, clock } = deps;

  /** A version dated in the future is scheduled, not published: it looks like one that does not exist. */
  async function published(legalTermId: number): Promise<LegalTermRow> {
    const term = await findTerm(db, legalTermId);
    if (!term || term.publishedAt > clock.now()) throw notFound('Legal term');
    return term;
  }

  return {
    current: () => currentTerms(db, clock.now()),

    show: published,

    /**
     * Records that the user accepted a current version, with time, address and user agent. Accepting it again
     * returns the first acceptance unchanged (`created: false`); a superseded version cannot be accepted.
     */
    async accept(principal: Principal, userId: number, legalTermId: number, source: AcceptanceSource) {
      await deps.users.self(principal, userId);
      const term = await published(legalTermId);
      const existing = await findAcceptance(db, userId, term.id);
      if (existing) return { acceptance: existing, term, created: false };
      const current = await currentTerms(db, clock.now());
      if (!current.some((row) => row.id === term.id)) {
        throw unprocessable(
          'legal_term_superseded',
          'A newer version of this document has been published; accept the current one.',
          'legal_term_id',
        );
      }
      const inserted = await insertAcceptance(db, {
        userId,
        legalTermId: term.id,
        acceptedAt: clock.now(),
        ip: source.ip?.slice(0, 64) ?? null,
        userAgent: source.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
      });
      // Two identical requests racing: the unique key keeps the first, and both answer it.
      if (!inserted) return { acceptance: (await findAcceptance(db, userId, term.id))!, term, created: false };
      return { acceptance: inserted, term, created: true };
    },
  };
}

export type LegalTermsService = ReturnType<typeof createLegalTermsService>;
