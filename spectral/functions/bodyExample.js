// The media type's example, or the examples of its (resolved) schema.
export default function bodyExample(media) {
  if (media?.example !== undefined || media?.examples !== undefined) return [];
  if (Array.isArray(media?.schema?.examples) && media.schema.examples.length > 0) return [];
  return [{ message: 'The request body has no example: add `examples: [ {…} ]` to its schema.' }];
}
