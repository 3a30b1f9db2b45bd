import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { type PreparedRows, prepareRows } from '../../db/prepared.ts';
import { leadAnswers, leads } from '../../db/schema/index.ts';
import type { LeadScope } from '../authz/authz.policies.ts';
import {
  type Bind,
  inline,
  type LeadPage,
  type LeadView,
  leadConditions,
  leadPageClauses,
  selectLeadPage,
  selectLeadViews,
} from './leads.repository.ts';

/**
 * Distinct query shapes one process prepares (filters present × sort × cursor × agent scope: a few dozen in use).
 * Past it a shape is built for its request, as any other query, rather than growing every connection's statements.
 */
const MAX_SHAPES = 128;

/** A select builder: awaited, it runs as built; prepareRows prepares it. */
type Select<R> = PromiseLike<R[]> & Parameters<typeof prepareRows>[1];

/**
 * The hot read path — a lead, a page of leads, their answers — as statements prepared once per shape instead of
 * built per request (query building was a fifth of a GET's CPU and a quarter of a list page's), their rows mapped by
 * a plan (db/prepared.ts). A shape is the SQL text: the sort, an `unassigned` filter and the names of the values
 * bound (which filters, a cursor, an agent's scope); the values go to the database as parameters. The same builders
 * as the ad hoc queries (leads.repository.ts), so a prepared read and a built one cannot differ.
 *
 * `named` false (DATABASE_PREPARE=false, behind a pooler in transaction mode, where the next execution may land on a
 * server connection that never saw a named statement): the statements are unnamed, which the server parses with
 * each execution (PostgreSQL's unnamed statement; pg sends one for an empty name), and the SQL is still built once.
 */
export function prepareLeadReads(db: Db, options: { named: boolean }) {
  const shapes = new Map<string, PreparedRows<unknown>>();

  /**
   * Runs the statement prepared for a shape (preparing it the first time) with the values its clauses bound to named
   * placeholders; the select itself is built only to prepare it. Past MAX_SHAPES, builds it with its values inline.
   */
  function run<C, R>(kind: string, shape: string, clauses: (bind: Bind) => C, select: (clauses: C) => Select<R>) {
    const values: Record<string, unknown> = {};
    const bound = clauses((name, value) => {
      values[name] = value;
      return sql.placeholder(name);
    });
    const key = `${kind}|${shape}|${Object.keys(values).join(',')}`;
    let statement = shapes.get(key) as PreparedRows<R> | undefined;
    if (!statement && shapes.size < MAX_SHAPES) {
      statement = prepareRows<R>(db, select(bound), options.named ? `lead_read_${shapes.size + 1}` : '');
      shapes.set(key, statement);
    }
    return statement ? statement.execute(values) : Promise.resolve(select(clauses(inline)));
  }

  return {
    async find(scope: LeadScope, leadId: number): Promise<LeadView | undefined> {
      const [row] = await run(
        'lead',
        '',
        (bind) => and(leadConditions(scope, {}, 'live', bind), eq(leads.id, bind('leadId', leadId))),
        (where) => selectLeadViews(db).where(where),
      );
      return row;
    },

    /** One keyset page of live leads (limit + 1 rows). */
    page(page: LeadPage): Promise<LeadView[]> {
      const shape = `${page.sort}${page.filter.assignedUserAccessId === null ? '|unassigned' : ''}`;
      return run(
        'page',
        shape,
        (bind) => leadPageClauses(page, bind),
        (clauses) => selectLeadPage(db, clauses),
      );
    },

    /** The answers of leads of one company (a lead, a page), in lead then question order. */
    async answersOf(companyId: number, leadIds: number[]) {
      if (leadIds.length === 0) return [];
      return run(
        'answers',
        '',
        (bind) =>
          and(
            eq(leadAnswers.companyId, bind('companyId', companyId)),
            // One array parameter, so that pages of any length share a statement.
            sql`${leadAnswers.leadId} = any(${sql.param(bind('leadIds', leadIds))})`,
          ),
        (where) =>
          db
            .select({ leadId: leadAnswers.leadId, questionId: leadAnswers.questionId, value: leadAnswers.value })
            .from(leadAnswers)
            .where(where)
            .orderBy(asc(leadAnswers.leadId), asc(leadAnswers.questionId)),
      );
    },
  };
}

export type LeadReads = ReturnType<typeof prepareLeadReads>;
