const PROBLEM = '#/components/schemas/Problem';

const isProblem = (answer) => answer?.content?.['application/problem+json']?.schema?.$ref === PROBLEM;

// Read unresolved, to see the Problem `$ref`; a shared answer (components.responses) is looked up where it is defined.
const SHARED = '#/components/responses/';
const sharedAnswer = (answer, document) =>
  typeof answer?.$ref === 'string' && answer.$ref.startsWith(SHARED)
    ? document?.components?.responses?.[decodeURIComponent(answer.$ref.slice(SHARED.length))]
    : answer;

export default function documentedErrors(operation, _options, context) {
  const document = context?.document?.data;
  const responses = Object.fromEntries(
    Object.entries(operation?.responses ?? {}).map(([status, answer]) => [status, sharedAnswer(answer, document)]),
  );
  const authenticated = Array.isArray(operation?.security) && operation.security.length > 0;
  const takesInput = Boolean(operation?.requestBody) || (operation?.parameters ?? []).some((p) => p.in !== 'header');
  const limited = authenticated || Object.values(responses).some((r) => r?.headers?.['RateLimit-Limit']);
  const required = [
    '500',
    ...(authenticated ? ['401', '429'] : []),
    ...(limited ? ['429'] : []),
    ...(takesInput ? ['422'] : []),
  ];
  const problems = [];
  for (const status of new Set(required)) {
    if (!responses[status]) problems.push({ message: `No ${status} answer documented.`, path: ['responses'] });
  }
  for (const [status, answer] of Object.entries(responses)) {
    if (/^[45]/.test(status) && !isProblem(answer)) {
      problems.push({
        message: `The ${status} answer is not application/problem+json with the Problem schema.`,
        path: ['responses', status],
      });
    }
  }
  return problems;
}
