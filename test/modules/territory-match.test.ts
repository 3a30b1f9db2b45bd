import { describe, expect, it } from 'vitest';
import {
  type MatchableTerritory,
  matchTerritories,
  matchTerritory,
} from '../../src/modules/territories/territory-match.ts';

const territory = (
  id: number,
  rules: { country?: string; regions?: string[]; postalCodes?: string[] },
): MatchableTerritory & { name: string } => ({
  id,
  name: `T${id}`,
  country: rules.country ?? null,
  regions: rules.regions ?? [],
  postalCodes: rules.postalCodes ?? [],
});

const best = (territories: MatchableTerritory[], lead: Parameters<typeof matchTerritory>[1], company = 'ES') => {
  const match = matchTerritory(territories, lead, company);
  return match && [match.territory.id, match.rule];
};

describe('matchTerritory', () => {
  it('prefers postal code over region over country', () => {
    const all = [
      territory(1, { country: 'ES' }),
      territory(2, { regions: ['Madrid'] }),
      territory(3, { postalCodes: ['28*'] }),
    ];
    expect(best(all, { postal_code: '28013', region: 'Madrid', country: 'ES' })).toEqual([3, 'postal_code']);
    expect(best(all, { postal_code: '08001', region: 'Madrid', country: 'ES' })).toEqual([2, 'region']);
    expect(best(all, { postal_code: '08001', region: 'Cataluña', country: 'ES' })).toEqual([1, 'country']);
    expect(best(all, { postal_code: '08001', region: 'Cataluña', country: 'FR' })).toBeUndefined();
  });

  it('ranks an exact postal code above any prefix, and a longer prefix above a shorter one', () => {
    const all = [
      territory(1, { postalCodes: ['0*'] }),
      territory(2, { postalCodes: ['06*'] }),
      territory(3, { postalCodes: ['061*'] }),
      territory(4, { postalCodes: ['06100'] }),
    ];
    expect(best(all, { postal_code: '06100' })).toEqual([4, 'postal_code']);
    expect(best(all, { postal_code: '06110' })).toEqual([3, 'postal_code']);
    expect(best(all, { postal_code: '06200' })).toEqual([2, 'postal_code']);
    expect(best(all, { postal_code: '07000' })).toEqual([1, 'postal_code']);
    expect(best(all, { postal_code: '16100' })).toBeUndefined();
    // The best pattern of a territory counts, wherever it is in its list.
    const mixed = [territory(5, { postalCodes: ['0*', '06100'] }), territory(6, { postalCodes: ['061*'] })];
    expect(best(mixed, { postal_code: '06100' })).toEqual([5, 'postal_code']);
  });

  it('compares postal codes without spaces and case', () => {
    const all = [territory(1, { postalCodes: ['SW1A*'] }), territory(2, { postalCodes: ['K1A 0B1'] })];
    expect(best(all, { postal_code: 'sw1a 1aa' }, 'GB')).toEqual([1, 'postal_code']);
    expect(best(all, { postal_code: 'k1a0b1' }, 'CA')).toEqual([2, 'postal_code']);
    expect(best(all, { postal_code: '   ' })).toBeUndefined();
  });

  it('matches regions case-, accent- and space-insensitively', () => {
    const all = [territory(1, { regions: ['Île-de-France', 'Provence-Alpes-Côte d’Azur'] })];
    expect(best(all, { region: '  ILE-DE-FRANCE ' }, 'FR')).toEqual([1, 'region']);
    expect(best(all, { region: 'provence-alpes-cote  d’azur' }, 'FR')).toEqual([1, 'region']);
    expect(best(all, { region: 'Bretagne' }, 'FR')).toBeUndefined();
  });

  it('only matches leads of its country: the lead’s, else the company’s', () => {
    const all = [territory(1, { country: 'FR', postalCodes: ['06*'] }), territory(2, { postalCodes: ['06*'] })];
    expect(best(all, { postal_code: '06000', country: 'FR' })).toEqual([1, 'postal_code']);
    expect(best(all, { postal_code: '06000', country: 'fr' })).toEqual([1, 'postal_code']);
    expect(best(all, { postal_code: '06000', country: 'IT' })).toEqual([2, 'postal_code']);
    expect(best(all, { postal_code: '06000' }, 'FR')).toEqual([1, 'postal_code']);
    expect(best(all, { postal_code: '06000' }, 'ES')).toEqual([2, 'postal_code']);
    // No country anywhere: a territory with a country cannot match.
    expect(matchTerritory([territory(1, { country: 'FR' })], { postal_code: '06000' }, null)).toBeUndefined();
  });

  it('matches by country alone only a territory that lists no regions or postal codes', () => {
    const all = [
      territory(1, { country: 'ES', regions: ['Madrid'] }),
      territory(2, { country: 'ES', postalCodes: ['28*'] }),
    ];
    expect(best(all, { region: 'Galicia', postal_code: '15001' })).toBeUndefined();
    expect(best([...all, territory(3, { country: 'ES' })], { region: 'Galicia' })).toEqual([3, 'country']);
  });

  it('breaks ties by the lowest id, whatever the input order', () => {
    const all = [
      territory(9, { regions: ['Madrid'] }),
      territory(4, { regions: ['madrid'] }),
      territory(7, { postalCodes: ['28*'] }),
      territory(5, { postalCodes: ['28*'] }),
    ];
    expect(best(all, { region: 'Madrid' })).toEqual([4, 'region']);
    expect(best(all, { region: 'Madrid', postal_code: '28001' })).toEqual([5, 'postal_code']);
  });

  it('returns nothing without territories or location, and the input object itself when it matches', () => {
    expect(matchTerritory([], { postal_code: '28001', region: 'Madrid', country: 'ES' }, 'ES')).toBeUndefined();
    const only = territory(1, { regions: ['Madrid'] });
    expect(matchTerritory([only], {}, null)).toBeUndefined();
    expect(matchTerritory([only], { region: 'Madrid' }, null)?.territory).toBe(only);
  });

  it('lists every match most specific first, for an engine that falls through to the next', () => {
    const all = [
      territory(1, { country: 'ES' }),
      territory(2, { regions: ['Madrid'] }),
      territory(3, { postalCodes: ['28*'] }),
      territory(4, { postalCodes: ['28001'] }),
      territory(5, { country: 'PT' }),
    ];
    const order = matchTerritories(all, { postal_code: '28001', region: 'madrid' }, 'ES').map((m) => [
      m.territory.id,
      m.rule,
    ]);
    expect(order).toEqual([
      [4, 'postal_code'],
      [3, 'postal_code'],
      [2, 'region'],
      [1, 'country'],
    ]);
  });
});
