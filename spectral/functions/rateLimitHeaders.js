// plugins/rate-limits.ts sends them on every answer of an authenticated route, errors included.
const HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

export default function rateLimitHeaders(operation) {
  if (!Array.isArray(operation?.security) || operation.security.length === 0) return [];
  const problems = [];
  for (const [status, answer] of Object.entries(operation.responses ?? {})) {
    const missing = HEADERS.filter((name) => !answer?.headers?.[name]);
    if (missing.length > 0) {
      problems.push({
        message: `The ${status} answer does not declare ${missing.join(', ')}.`,
        path: ['responses', status],
      });
    }
  }
  return problems;
}
