import { canonical } from './docs-schemas.ts';

/**
 * Error answers and headers shared by many operations, held once. The shared plugins document the same 401, 429,
 * 500, 503 … (with the same RateLimit-* headers) on every route they apply to: inline, that was 1,169 answers of
 * which 192 differ, over half of the document, and as many copies in every generated client. An error answer (or
 * a header) used twice or more goes into `components.responses` (`components.headers`) and is referred to.
 */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const ERROR_NAMES: Record<string, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'InvalidInput',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'Unavailable',
};

type Use = { base: string; value: unknown; count: number; key: string };

/**
 * Counts each distinct value under its base name, then names those used twice or more: the most used variant gets
 * the base name, the others `<base>2`, `<base>3` … in order of use (ties by content), so names are stable.
 */
function nameShared(uses: Map<string, Use>, taken: Set<string>): Map<string, string> {
  const byBase = new Map<string, Use[]>();
  for (const use of uses.values()) {
    if (use.count < 2) continue;
    byBase.set(use.base, [...(byBase.get(use.base) ?? []), use]);
  }
  const names = new Map<string, string>();
  for (const [base, variants] of byBase) {
    variants.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
    let n = 1;
    for (const variant of variants) {
      let name = n === 1 ? base : `${base}${n}`;
      while (taken.has(name)) name = `${base}${++n}`;
      taken.add(name);
      names.set(variant.key, name);
      n++;
    }
  }
  return names;
}

function operations(document: Json): Json[] {
  const found: Json[] = [];
  for (const item of Object.values(isObject(document.paths) ? document.paths : {})) {
    if (isObject(item))
      for (const op of Object.values(item)) if (isObject(op) && isObject(op.responses)) found.push(op);
  }
  return found;
}

export function shareResponses(document: Json): Json {
  const components = isObject(document.components) ? { ...document.components } : {};
  const ops = operations(document);

  // Headers first (they sit inside the answers, whose identity then includes the references).
  const headerUses = new Map<string, Use>();
  for (const op of ops) {
    for (const answer of Object.values(op.responses as Json)) {
      if (!isObject(answer) || !isObject(answer.headers)) continue;
      for (const [name, header] of Object.entries(answer.headers)) {
        if (isObject(header) && header.$ref !== undefined) continue; // already shared (RateLimit-*, Retry-After)
        const key = `${name.toLowerCase()} ${canonical(header)}`;
        const use = headerUses.get(key) ?? { base: name, value: header, count: 0, key };
        use.count++;
        headerUses.set(key, use);
      }
    }
  }
  const headers: Json = isObject(components.headers) ? { ...components.headers } : {};
  const headerNames = nameShared(headerUses, new Set(Object.keys(headers)));
  for (const [key, name] of headerNames) headers[name] = headerUses.get(key)!.value;
  const withHeaderRefs = (answer: Json): Json => {
    if (!isObject(answer.headers)) return answer;
    const refs = Object.fromEntries(
      Object.entries(answer.headers).map(([name, header]) => {
        const shared =
          isObject(header) && header.$ref !== undefined
            ? undefined
            : headerNames.get(`${name.toLowerCase()} ${canonical(header)}`);
        return [name, shared ? { $ref: `#/components/headers/${shared}` } : header];
      }),
    );
    return { ...answer, headers: refs };
  };

  const answerUses = new Map<string, Use>();
  for (const op of ops) {
    for (const [status, answer] of Object.entries(op.responses as Json)) {
      if (!isObject(answer) || !ERROR_NAMES[status]) continue;
      const value = withHeaderRefs(answer);
      const key = `${status} ${canonical(value)}`;
      const use = answerUses.get(key) ?? { base: ERROR_NAMES[status]!, value, count: 0, key };
      use.count++;
      answerUses.set(key, use);
    }
  }
  const responses: Json = isObject(components.responses) ? { ...components.responses } : {};
  const answerNames = nameShared(answerUses, new Set(Object.keys(responses)));
  for (const [key, name] of answerNames) responses[name] = answerUses.get(key)!.value;

  const share = (op: Json): Json => ({
    ...op,
    responses: Object.fromEntries(
      Object.entries(op.responses as Json).map(([status, answer]) => {
        if (!isObject(answer)) return [status, answer];
        const value = withHeaderRefs(answer);
        const name = ERROR_NAMES[status] ? answerNames.get(`${status} ${canonical(value)}`) : undefined;
        return [status, name ? { $ref: `#/components/responses/${name}` } : value];
      }),
    ),
  });
  const paths = Object.fromEntries(
    Object.entries(isObject(document.paths) ? document.paths : {}).map(([path, item]) => [
      path,
      isObject(item)
        ? Object.fromEntries(
            Object.entries(item).map(([method, op]) => [
              method,
              isObject(op) && isObject(op.responses) ? share(op) : op,
            ]),
          )
        : item,
    ]),
  );
  return { ...document, paths, components: { ...components, responses, headers } };
}
