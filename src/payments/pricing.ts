// What a subscription costs: sats per sym per table, a price for ` (every sym), free tables.
// Amount = Σ price(sym) over the syms asked for (the seed's 100 sat × count syms by default);
// ` costs the table's `all` price, by default one sym's price (count ` is 1 in the seed).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { SymFilter } from '../tick/index.js';

export interface TablePrice {
  /** Sats per sym. */
  readonly perSym: number;
  /** Sats for ` (every sym). */
  readonly all: number;
  /** Per-sym overrides. */
  readonly syms: ReadonlyMap<string, number>;
}

export class Pricing {
  constructor(private readonly defaultPerSym: number, private readonly tables: ReadonlyMap<string, TablePrice>) {}

  /** A price list where every table costs `perSym` sats per sym. */
  static flat(perSym: number): Pricing {
    return new Pricing(perSym, new Map());
  }

  private table(t: string): TablePrice {
    return this.tables.get(t) ?? { perSym: this.defaultPerSym, all: this.defaultPerSym, syms: new Map() };
  }

  /** Sats for a subscription to `t` with `filter`; 0 = free. */
  amount(t: string, filter: SymFilter): number {
    const p = this.table(t);
    if (filter === null) return p.all;
    let sum = 0;
    for (const s of filter) sum += p.syms.get(s) ?? p.perSym;
    return sum;
  }

  isFree(t: string): boolean {
    const p = this.table(t);
    return p.perSym === 0 && p.all === 0 && [...p.syms.values()].every((v) => v === 0);
  }
}

/**
 * The pricing file (JSON):
 * { "default": 100,
 *   "tables": { "trade": { "perSym": 100, "all": 5000, "syms": { "AAPL": 250 } }, "quote": 0 } }
 * A number for a table is its per-sym price (0 = free). Unlisted tables use "default" (else --price).
 */
export function loadPricing(path: string, fallbackPerSym: number): Pricing {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`pricing file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parsePricing(raw, fallbackPerSym, path);
}

const sats = (v: unknown, where: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(`${where} must be a whole number of sats >= 0`);
  return v;
};

export function parsePricing(raw: unknown, fallbackPerSym: number, file = 'pricing'): Pricing {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(`${file}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  const def = o['default'] === undefined ? fallbackPerSym : sats(o['default'], `${file}: default`);
  const tables = new Map<string, TablePrice>();
  const t = o['tables'] ?? {};
  if (typeof t !== 'object' || t === null) throw new ConfigError(`${file}: "tables" must be an object`);
  for (const [name, spec] of Object.entries(t as Record<string, unknown>)) {
    const where = `${file}: tables.${name}`;
    if (typeof spec === 'number') {
      const p = sats(spec, where);
      tables.set(name, { perSym: p, all: p, syms: new Map() });
      continue;
    }
    if (typeof spec !== 'object' || spec === null) throw new ConfigError(`${where} must be a number or an object`);
    const s = spec as Record<string, unknown>;
    const perSym = s['perSym'] === undefined ? def : sats(s['perSym'], `${where}.perSym`);
    const all = s['all'] === undefined ? perSym : sats(s['all'], `${where}.all`);
    const syms = new Map<string, number>();
    const symPrices = s['syms'] ?? {};
    // an array or a string would otherwise price syms named "0", "1"...: refused, not misread
    if (typeof symPrices !== 'object' || Array.isArray(symPrices)) throw new ConfigError(`${where}.syms must be an object of sym prices`);
    for (const [k, v] of Object.entries(symPrices as Record<string, unknown>)) syms.set(k, sats(v, `${where}.syms.${k}`));
    tables.set(name, { perSym, all, syms });
  }
  return new Pricing(def, tables);
}
