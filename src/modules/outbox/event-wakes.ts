import type { Db, Executor } from '../../db/client.ts';

/**
 * Wake-ups published after commit, for transports that, unlike NOTIFY, know nothing of transactions (Redis pub/sub,
 * REDIS_URL). The outbox append notes its company on its transaction; once the outermost `db.transaction` has
 * committed, every publisher installed on that database hears the companies. A rolled-back transaction publishes
 * nothing, and a wake-up only ever makes a stream read the outbox, so one lost (a process killed between its commit
 * and its publish) costs latency until the stream's next heartbeat, never an event.
 */
type Publish = (companyIds: number[]) => void;

const noted = new WeakMap<object, Set<number>>();
/** Per database, one publisher per channel: apps built on one database in one process publish a wake-up once. */
const publishers = new WeakMap<object, Map<string, Publish>>();
const WRAPPED = Symbol('event wakes after commit');

/** Called by the outbox append: the transaction `tx` wakes `companyId`'s streams once it has committed. */
export function noteWake(tx: Executor, companyId: number): void {
  const set = noted.get(tx);
  if (set) set.add(companyId);
  else noted.set(tx, new Set([companyId]));
}

/**
 * Makes `db`'s transactions publish their wake-ups after commit, through `publish` (the last installed for its
 * `channel`); answers the uninstall. The
 * wrapper goes around the retrying one (client.ts), so only the attempt that committed publishes.
 */
export function publishWakesAfterCommit(db: Db, channel: string, publish: Publish): () => void {
  const target = db as Db & { [WRAPPED]?: true };
  let set = publishers.get(db);
  if (!set) {
    set = new Map();
    publishers.set(db, set);
  }
  set.set(channel, publish);
  if (!target[WRAPPED]) {
    target[WRAPPED] = true;
    const transaction = db.transaction.bind(db);
    const all = set;
    db.transaction = (async (fn, config) => {
      let last: object | undefined;
      const result = await transaction((tx) => {
        last = tx;
        return fn(tx);
      }, config);
      const companies = last && noted.get(last);
      if (companies) for (const each of all.values()) each([...companies]);
      return result;
    }) as Db['transaction'];
  }
  return () => {
    if (set.get(channel) === publish) set.delete(channel);
  };
}
