/** One invalid field of a 422 answer. */
export type ProblemFieldError = { field: string; code: string; message: string };

const excerpt = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

/**
 * An error answer of the API (status 400 or more), thrown by every call of the client: the RFC 9457 problem+json
 * body's fields, and the response for its headers (`Retry-After`, `x-request-id`). An answer that is not
 * problem+json (a proxy's 502 page, say) becomes one too, with the code `http_<status>`.
 */
export class LeadsyError extends Error {
  override readonly name = 'LeadsyError';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** Stable and machine-readable (`validation_failed`, `plan_limit_reached`, …): branch on this. */
  readonly code: string;
  /** The `x-request-id` of the answer: quote it when reporting a problem. */
  readonly request_id: string;
  /** Every invalid field, on 422. */
  readonly errors: ProblemFieldError[];
  readonly response: Response;

  constructor(response: Response, body: Record<string, unknown> | string) {
    const problem = typeof body === 'string' ? {} : body;
    const text = (key: string) => (typeof problem[key] === 'string' ? (problem[key] as string) : undefined);
    const title = text('title') ?? (response.statusText || `HTTP ${response.status}`);
    const detail = text('detail') ?? (typeof body === 'string' ? excerpt(body) : '');
    super(`${response.status} ${title}${detail ? `: ${detail}` : ''}`);
    this.status = typeof problem.status === 'number' ? problem.status : response.status;
    this.type = text('type') ?? 'about:blank';
    this.title = title;
    this.detail = detail;
    this.code = text('code') ?? `http_${response.status}`;
    this.request_id = text('request_id') ?? response.headers.get('x-request-id') ?? '';
    this.errors = Array.isArray(problem.errors) ? (problem.errors as ProblemFieldError[]) : [];
    this.response = response;
  }

  /** Reads the answer's body (so the response passed in is consumed). */
  static async from(response: Response): Promise<LeadsyError> {
    const text = await response.text().catch(() => '');
    let body: Record<string, unknown> | string = text;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: the text is kept as the detail.
    }
    return new LeadsyError(response, body);
  }
}
