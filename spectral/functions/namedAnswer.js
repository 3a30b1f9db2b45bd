// A named schema is a $ref into components.schemas: generated clients then get one type per resource.
const isRef = (schema) => typeof schema?.$ref === 'string' && schema.$ref.startsWith('#/components/schemas/');
const isNullable = (schema) => Array.isArray(schema?.anyOf) && schema.anyOf.every((s) => isRef(s) || s.type === 'null');
const isListOf = (schema) =>
  schema?.type === 'array' &&
  (isRef(schema.items) || (Array.isArray(schema.items?.anyOf) && schema.items.anyOf.every(isRef)));
// The envelope of the contract: `{"lead": Lead}`, `{"leads": [Lead], "meta": PageMeta}`, plus plain scalars beside
// them (a secret shown once, a count).
const isScalar = (schema) => ['string', 'integer', 'number', 'boolean'].includes(schema?.type);
const isPart = (schema) => isRef(schema) || isNullable(schema) || isListOf(schema) || isScalar(schema);

export default function namedAnswer(schema) {
  if (isRef(schema) || isListOf(schema)) return [];
  if (schema?.type === 'string') return []; // a file or text, not a JSON resource
  const properties = Object.values(schema?.properties ?? {});
  if (
    schema?.type === 'object' &&
    properties.length > 0 &&
    properties.some((p) => !isScalar(p)) &&
    properties.every(isPart)
  ) {
    return [];
  }
  return [{ message: 'The answer is an inline schema: give its resource a title (a named schema) and refer to it.' }];
}
