export type TerritoryCandidate = {
  id: number;
  country: string | null;
  regions: string[];
  postalCodes: string[];
};

export type TerritoryMatch = { territoryId: number; rule: 'postal_code' | 'region' | 'country'; specificity: number };

const fold = (value: string) => value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
const postal = (value: string) => value.replace(/\s+/g, '').toUpperCase();

/**
 * Every territory matching a lead's location, most specific first: an exact postal code, then the longest postal
 * prefix (`06*`), then the region, then the country. A territory with a country only matches leads of that country
 * (the lead's, else the company's). Ties go to the older territory.
 */
export function matchTerritories(
  territories: readonly TerritoryCandidate[],
  lead: { country: string | null; region: string | null; postalCode: string | null },
  companyCountry: string | null,
): TerritoryMatch[] {
  const country = (lead.country ?? companyCountry)?.toUpperCase() ?? null;
  const code = lead.postalCode ? postal(lead.postalCode) : null;
  const region = lead.region ? fold(lead.region) : null;
  const matches: TerritoryMatch[] = [];
  for (const territory of territories) {
    if (territory.country && territory.country.toUpperCase() !== country) continue;
    let best: TerritoryMatch | undefined;
    for (const pattern of code ? territory.postalCodes.map(postal) : []) {
      const specificity = pattern.endsWith('*')
        ? code!.startsWith(pattern.slice(0, -1))
          ? 1000 + pattern.length - 1
          : 0
        : pattern === code
          ? 2000
          : 0;
      if (specificity > (best?.specificity ?? 0))
        best = { territoryId: territory.id, rule: 'postal_code', specificity };
    }
    if (!best && region && territory.regions.some((candidate) => fold(candidate) === region)) {
      best = { territoryId: territory.id, rule: 'region', specificity: 100 };
    }
    const countryOnly = territory.regions.length === 0 && territory.postalCodes.length === 0;
    if (!best && territory.country && countryOnly)
      best = { territoryId: territory.id, rule: 'country', specificity: 10 };
    if (best) matches.push(best);
  }
  return matches.sort((a, b) => b.specificity - a.specificity || a.territoryId - b.territoryId);
}
