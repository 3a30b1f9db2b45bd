import createClient, {
  type Client,
  type ClientPathsWithMethod,
  type FetchResponse,
  type MaybeOptionalInit,
} from 'openapi-fetch';
import type { paths } from '../generated/schema.ts';
import { LeadsyError } from './errors.ts';
import { serializeBody } from './form-data.ts';

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';
type Media = `${string}/${string}`;
type PathsWith<M extends Method> = ClientPathsWithMethod<Client<paths>, M>;
/** `{}`: no keys at all. */
type Empty = Record<never, never>;
type RequiredKeys<T> = { [K in keyof T]-?: Empty extends Pick<T, K> ? never : K }[keyof T];
/** The init argument is optional when nothing in it is required (as in openapi-fetch). */
type InitParam<Init> =
  RequiredKeys<Init> extends never ? [(Init & { [key: string]: unknown })?] : [Init & { [key: string]: unknown }];
/** Error answers are thrown (LeadsyError), so a call resolves only to the success branch: `data` is always there. */
type Success<R> = Exclude<R, { error: unknown }>;
type Answer<P extends PathsWith<M>, M extends Method, Init> = Success<
  FetchResponse<NonNullable<paths[P][M]>, Init, Media>
>;

type LeadsyMethod<M extends Method> = <P extends PathsWith<M>, Init extends MaybeOptionalInit<paths[P], M>>(
  url: P,
  ...init: InitParam<Init>
) => Promise<Answer<P, M, Init>>;

type PageData<P extends PathsWith<'get'>> = Answer<P, 'get', Empty>['data'];
/** The GET paths that answer a page: `{ <items>: [...], meta: { next_cursor } }`. */
export type ListPath = {
  [P in PathsWith<'get'>]: PageData<P> extends { meta: { next_cursor: string | null } } ? P : never;
}[PathsWith<'get'>];
type ItemKey<D> = Exclude<keyof D, 'meta'>;
type ItemsOf<D> = { [K in ItemKey<D>]: D[K] extends readonly (infer I)[] ? I : never }[ItemKey<D>];
/** One item of a list path's page (`Lead` for the leads list, …). */
export type ListItem<P extends ListPath> = ItemsOf<PageData<P>>;

export type LeadsyClient = Omit<Client<paths>, 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH'> & {
  GET: LeadsyMethod<'get'>;
  PUT: LeadsyMethod<'put'>;
  POST: LeadsyMethod<'post'>;
  DELETE: LeadsyMethod<'delete'>;
  PATCH: LeadsyMethod<'patch'>;
  /**
   * Every item of a list, page after page (following `meta.next_cursor` until it is null):
   * `for await (const lead of client.paginate('/api/v1/companies/{company_id}/leads', { params })) …`.
   * `params.query.limit` sets the page size.
   */
  paginate<P extends ListPath, Init extends MaybeOptionalInit<paths[P], 'get'>>(
    url: P,
    ...init: InitParam<Init>
  ): AsyncGenerator<ListItem<P>, void, undefined>;
};

export type LeadsyClientOptions = {
  /** The server's origin, e.g. `https://leadsy.example.com` (the paths carry `/api/v1`). */
  baseUrl: string;
  /** A user's JWT (POST /api/v1/users/login), or a function asked before each request (for a token that changes). */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** A company API key, `lsk_…` (POST /api/v1/companies/{company_id}/api_keys). */
  apiKey?: string;
  /** A fetch of your own (defaults to the global one). */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
};

export function createLeadsyClient(options: LeadsyClientOptions): LeadsyClient {
  const { baseUrl, token, apiKey, fetch, headers } = options;
  if (token !== undefined && apiKey !== undefined)
    throw new TypeError('createLeadsyClient: pass token or apiKey, not both');
  const client = createClient<paths>({
    baseUrl,
    bodySerializer: serializeBody,
    ...(fetch ? { fetch } : {}),
    ...(headers ? { headers } : {}),
  });
  client.use({
    async onRequest({ request }) {
      // JWTs and API keys travel the same way; the server tells them apart by the `lsk_` prefix.
      const bearer = typeof token === 'function' ? await token() : (token ?? apiKey);
      if (bearer) request.headers.set('authorization', `Bearer ${bearer}`);
      return request;
    },
    async onResponse({ response }) {
      if (response.status >= 400) throw await LeadsyError.from(response);
      return undefined;
    },
  });
  const leadsy = client as unknown as LeadsyClient;
  leadsy.paginate = paginate as LeadsyClient['paginate'];
  return leadsy;

  async function* paginate(url: string, init: { params?: { query?: Record<string, unknown> } } = {}) {
    let cursor = init.params?.query?.cursor;
    for (;;) {
      const query = { ...init.params?.query, ...(cursor ? { cursor } : {}) };
      const { data } = await (client.GET as (u: string, i: object) => Promise<{ data: Record<string, unknown> }>)(url, {
        ...init,
        params: { ...init.params, query },
      });
      const items = Object.entries(data).find(([key, value]) => key !== 'meta' && Array.isArray(value))?.[1];
      yield* (items ?? []) as unknown[];
      const next = (data.meta as { next_cursor?: string | null } | undefined)?.next_cursor;
      if (!next) return;
      // A server that answered the same cursor twice would otherwise be asked for the same page forever.
      if (next === cursor) throw new Error(`paginate: ${url} answered the cursor it was given`);
      cursor = next;
    }
  }
}
