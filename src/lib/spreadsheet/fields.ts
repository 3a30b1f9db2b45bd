/** The lead fields a column can fill. `full_name` is split into first and last name (see splitFullName). */
export const LEAD_FIELDS = [
  'first_name',
  'last_name',
  'full_name',
  'email',
  'phone',
  'country',
  'region',
  'city',
  'postal_code',
  'value',
  'currency',
  'external_id',
  'stage',
  'source',
  'campaign',
  'notes',
] as const;

export type LeadField = (typeof LEAD_FIELDS)[number];

/** The template's columns, in order (full_name is accepted on import but the template has first and last name). */
export const TEMPLATE_FIELDS: readonly LeadField[] = LEAD_FIELDS.filter((field) => field !== 'full_name');

/**
 * Header synonyms, English and Spanish, compared after `normalizeHeader` (case, accents, spaces and punctuation
 * ignored). A bare "name" is the full name; a bare "nombre" is the first name, as Spanish forms use it.
 */
export const SYNONYMS: Record<LeadField, string[]> = {
  first_name: ['first name', 'firstname', 'given name', 'forename', 'nombre', 'nombres', 'nombre de pila'],
  last_name: ['last name', 'lastname', 'surname', 'family name', 'apellido', 'apellidos'],
  full_name: ['name', 'full name', 'contact name', 'nombre completo', 'nombre y apellidos', 'nombre del contacto'],
  email: [
    'email',
    'e-mail',
    'mail',
    'email address',
    'e-mail address',
    'correo',
    'correo electrónico',
    'correo-e',
    'dirección de correo',
    'email contacto',
  ],
  phone: [
    'phone',
    'telephone',
    'tel',
    'phone number',
    'telephone number',
    'mobile',
    'mobile phone',
    'mobile number',
    'cell',
    'cell phone',
    'teléfono',
    'número de teléfono',
    'nº teléfono',
    'nº móvil',
    'teléfono de contacto',
    'teléfono móvil',
    'móvil',
    'celular',
    'tlf',
    'telf',
  ],
  country: ['country', 'country code', 'país', 'pais', 'código de país'],
  region: ['region', 'state', 'province', 'county', 'región', 'provincia', 'comunidad', 'comunidad autónoma', 'estado'],
  city: ['city', 'town', 'ciudad', 'localidad', 'municipio', 'población'],
  postal_code: ['postal code', 'zip', 'zip code', 'zipcode', 'postcode', 'post code', 'código postal', 'cp', 'c.p.'],
  value: ['value', 'amount', 'deal value', 'valor', 'importe', 'monto'],
  currency: ['currency', 'moneda', 'divisa'],
  external_id: ['external id', 'id', 'ref', 'reference', 'id externo', 'referencia', 'ref externa', 'external ref'],
  stage: ['stage', 'pipeline stage', 'status', 'lead status', 'etapa', 'fase', 'estatus'],
  source: ['source', 'lead source', 'origin', 'origen', 'fuente'],
  campaign: ['campaign', 'campaña', 'campana'],
  notes: ['notes', 'note', 'comments', 'comment', 'notas', 'nota', 'comentarios', 'comentario', 'observaciones'],
};

/** Case, accents, spaces, underscores, hyphens and other punctuation ignored: "Correo-Electrónico" → "correoelectronico". */
export const normalizeHeader = (header: string) =>
  header
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');

/**
 * "Ana García López" → first "Ana", last "García López"; "García López, Ana" → first "Ana", last "García López";
 * a single word is the first name.
 */
export function splitFullName(fullName: string): { first_name: string; last_name: string } {
  const name = fullName.trim().replace(/\s+/g, ' ');
  const comma = name.indexOf(',');
  if (comma > 0) return { first_name: name.slice(comma + 1).trim(), last_name: name.slice(0, comma).trim() };
  const space = name.indexOf(' ');
  return space === -1
    ? { first_name: name, last_name: '' }
    : { first_name: name.slice(0, space), last_name: name.slice(space + 1) };
}
