/**
 * Which territory a lead belongs to. Pure: the distribution engine calls it with the company's territories.
 *
 * Precedence, most specific first: an exact postal code; a postal code prefix (`06*`), the longer the more
 * specific; a region (case- and accent-insensitive); the country. A territory with a country only matches leads
 * of that country (the lead's, else the company's). A territory matches by country alone only when it lists no
 * regions and no postal codes: "Madrid, ES" must not take every Spanish lead. Ties go to the lowest id (the oldest).
 */
export type MatchableTerritory = {
  id: number;
  country: string | null;
  regions: readonly string[];
  postalCodes: readonly string[];
};

export type TerritoryRule = 'postal_code' | 'region' | 'country';
export type LeadPlace = { country?: string | null; region?: string | null; postal_code?: string | null };
export type TerritoryMatch<T> = { territory: T; rule: TerritoryRule };

/** Spaces removed, upper-case: how postal codes are stored and compared. */
export const normalizePostalCode = (value: string) => value.replace(/\s+/g, '').toUpperCase();

/** Case, accents and repeated spaces do not matter in region names. */
export const foldRegion = (value: string) =>
  value.normalize('NFD').replace(/\p{M}/gu, '').replace(/\s+/g, ' ').trim().toLowerCase();

// Exact codes outrank every prefix; a longer prefix outranks a shorter one; then region, then country.
const EXACT = 1_000_000;
const PREFIX = 1000;
const REGION = 100;
const COUNTRY = 10;

function postalScore(patterns: readonly string[], code: string): number {
  let best = 0;
  for (const raw of patterns) {
    const pattern = normalizePostalCode(raw);
    if (pattern.endsWith('*')) {
      const prefix = pattern.slice(0, -1);
      if (prefix.length > 0 && code.startsWith(prefix)) best = Math.max(best, PREFIX + prefix.length);
    } else if (pattern === code) {
      return EXACT;
    }
  }
  return best;
}

function score(territory: MatchableTerritory, country: string | null, code: string | null, region: string | null) {
  if (territory.country && territory.country.toUpperCase() !== country) return undefined;
  const postal = code ? postalScore(territory.postalCodes, code) : 0;
  if (postal > 0) return { rule: 'postal_code' as const, points: postal };
  if (region && territory.regions.some((candidate) => foldRegion(candidate) === region)) {
    return { rule: 'region' as const, points: REGION };
  }
  if (territory.country && territory.regions.length === 0 && territory.postalCodes.length === 0) {
    return { rule: 'country' as const, points: COUNTRY };
  }
  return undefined;
}

/** Every matching territory, most specific first (the engine falls through when one has nobody active). */
export function matchTerritories<T extends MatchableTerritory>(
  territories: readonly T[],
  lead: LeadPlace,
  companyCountry: string | null,
): TerritoryMatch<T>[] {
  const country = (lead.country?.trim() || companyCountry)?.toUpperCase() ?? null;
  const code = lead.postal_code ? normalizePostalCode(lead.postal_code) || null : null;
  const region = lead.region ? foldRegion(lead.region) || null : null;
  const scored: (TerritoryMatch<T> & { points: number })[] = [];
  for (const territory of territories) {
    const result = score(territory, country, code, region);
    if (result) scored.push({ territory, ...result });
  }
  scored.sort((a, b) => b.points - a.points || a.territory.id - b.territory.id);
  return scored.map(({ territory, rule }) => ({ territory, rule }));
}

/** The most specific matching territory and the rule that matched, or undefined. */
export function matchTerritory<T extends MatchableTerritory>(
  territories: readonly T[],
  lead: LeadPlace,
  companyCountry: string | null,
): TerritoryMatch<T> | undefined {
  return matchTerritories(territories, lead, companyCountry)[0];
}
