import { defaultBodySerializer } from 'openapi-fetch';

const isBlob = (value: unknown): value is Blob => typeof Blob !== 'undefined' && value instanceof Blob;

function append(form: FormData, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (isBlob(value)) form.append(name, value, (value as Partial<File>).name || name);
  else if (Array.isArray(value)) for (const item of value) append(form, name, item);
  else if (typeof value === 'object') form.append(name, JSON.stringify(value));
  else form.append(name, String(value));
}

/** A body with a Blob or File among its values as multipart/form-data (the upload routes' `format: binary` fields). */
export function toFormData(body: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) append(form, name, value);
  return form;
}

/**
 * The client's body serializer: JSON, except for a body that carries a file, sent as multipart/form-data (fetch then
 * writes the content-type with its boundary), so that uploads need nothing more than `body: { file }`.
 */
export function serializeBody(body: unknown): FormData | string {
  if (body instanceof FormData) return body;
  if (body && typeof body === 'object' && Object.values(body).some(isBlob)) {
    return toFormData(body as Record<string, unknown>);
  }
  return defaultBodySerializer(body);
}
