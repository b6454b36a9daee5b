// The price list: what each subscription costs, and every pricing file that is refused, refused as a
// ConfigError whose message names the file and the entry that is wrong.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { loadPricing, parsePricing, Pricing } from '../../src/payments/pricing.js';

const refusal = (t: Test, raw: unknown, message: RegExp, what: string): void => {
  const err = t.throws(() => parsePricing(raw, 100, 'prices.json'), ConfigError, what) as ConfigError;
  t.equal(err.code, 'CONFIG_ERR_INVALID', `${what}: the config error code`);
  t.match(err.message, message, `${what}: the message says what is wrong`);
};

t.test('a flat price list charges the price once per sym asked for, and one sym\'s price for `', async (t) => {
  const p = Pricing.flat(100);
  t.equal(p.amount('trade', new Set(['IBM'])), 100);
  t.equal(p.amount('trade', new Set(['IBM', 'MSFT', 'AAPL'])), 300, 'the seed: 100 sat × count syms');
  t.equal(p.amount('quote', null), 100, 'count ` is 1 in the seed');
  t.equal(p.amount('trade', new Set([])), 0, 'no syms, nothing to pay');
  t.notOk(p.isFree('trade'));
  t.ok(Pricing.flat(0).isFree('trade'), 'a flat price of 0 makes every table free');
});

t.test('a pricing file sets per-sym prices, a price for every sym and per-sym overrides per table', async (t) => {
  const p = parsePricing({ default: 10, tables: { trade: { perSym: 100, all: 5000, syms: { AAPL: 250 } }, quote: 0, news: 7 } }, 1);
  t.equal(p.amount('trade', new Set(['IBM', 'AAPL'])), 350, 'an override replaces the per-sym price for its sym only');
  t.equal(p.amount('trade', null), 5000, '` costs the table\'s all price');
  t.equal(p.amount('quote', new Set(['IBM'])), 0);
  t.ok(p.isFree('quote'), 'a table priced 0 is free');
  t.equal(p.amount('news', new Set(['A', 'B'])), 14, 'a number is the table\'s per-sym price');
  t.equal(p.amount('news', null), 7, 'and also its price for `');
  t.equal(p.amount('other', new Set(['A', 'B'])), 20, 'an unlisted table uses "default"');
  t.notOk(p.isFree('trade'));
});

t.test('a table object without perSym takes the default, and without all takes its per-sym price', async (t) => {
  const p = parsePricing({ default: 30, tables: { trade: { syms: { IBM: 1 } }, quote: { perSym: 5 } } }, 1);
  t.equal(p.amount('trade', new Set(['MSFT'])), 30);
  t.equal(p.amount('trade', new Set(['IBM'])), 1);
  t.equal(p.amount('trade', null), 30);
  t.equal(p.amount('quote', null), 5);
});

t.test('a pricing file without "default" falls back to --price, and an empty object prices every table so', async (t) => {
  t.equal(parsePricing({}, 42).amount('trade', new Set(['A'])), 42);
  t.equal(parsePricing({ tables: { quote: 1 } }, 42).amount('trade', null), 42);
});

t.test('a table is free only when its per-sym price, its ` price and every override are 0', async (t) => {
  const p = parsePricing({ tables: { a: { perSym: 0, all: 0 }, b: { perSym: 0, all: 1 }, c: { perSym: 0, all: 0, syms: { X: 3 } }, d: { perSym: 0, all: 0, syms: { X: 0 } } } }, 100);
  t.ok(p.isFree('a'));
  t.notOk(p.isFree('b'), 'a priced ` is not free');
  t.notOk(p.isFree('c'), 'a priced sym is not free');
  t.ok(p.isFree('d'));
});

t.test('a pricing file that is not a JSON object is refused', async (t) => {
  refusal(t, null, /^prices\.json: expected a JSON object$/, 'null');
  refusal(t, 5, /expected a JSON object/, 'a number');
  refusal(t, 'trade', /expected a JSON object/, 'a string');
});

t.test('a pricing file with a negative, fractional or non-numeric price is refused, naming the entry', async (t) => {
  refusal(t, { default: -1 }, /^prices\.json: default must be a whole number of sats >= 0$/, 'a negative default');
  refusal(t, { default: 1.5 }, /default must be a whole number/, 'a fractional default');
  refusal(t, { default: '100' }, /default must be a whole number/, 'a default as a string');
  refusal(t, { tables: { trade: -5 } }, /^prices\.json: tables\.trade must be a whole number of sats >= 0$/, 'a negative table price');
  refusal(t, { tables: { trade: { perSym: -1 } } }, /tables\.trade\.perSym must be a whole number/, 'a negative perSym');
  refusal(t, { tables: { trade: { all: 0.5 } } }, /tables\.trade\.all must be a whole number/, 'a fractional all');
  refusal(t, { tables: { trade: { syms: { IBM: -2 } } } }, /tables\.trade\.syms\.IBM must be a whole number/, 'a negative override');
  refusal(t, { tables: { trade: { syms: { IBM: null } } } }, /tables\.trade\.syms\.IBM must be a whole number/, 'a null override');
  refusal(t, { tables: { trade: Number.NaN } }, /tables\.trade must be a whole number/, 'NaN');
  refusal(t, { tables: { trade: Infinity } }, /tables\.trade must be a whole number/, 'Infinity');
});

t.test('a pricing file whose tables or a table entry has the wrong shape is refused, naming the table', async (t) => {
  refusal(t, { tables: 'trade' }, /^prices\.json: "tables" must be an object$/, 'tables as a string');
  refusal(t, { tables: { trade: 'cheap' } }, /^prices\.json: tables\.trade must be a number or an object$/, 'a table as a string');
  refusal(t, { tables: { trade: null } }, /tables\.trade must be a number or an object/, 'a table null');
  refusal(t, { tables: { trade: true } }, /tables\.trade must be a number or an object/, 'a table true');
});

t.test('a pricing file whose syms is not an object of prices is refused, naming the table', async (t) => {
  refusal(t, { tables: { trade: { syms: 'IBM' } } }, /^prices\.json: tables\.trade\.syms must be an object of sym prices$/, 'syms as a string');
  refusal(t, { tables: { trade: { syms: [100, 200] } } }, /tables\.trade\.syms must be an object of sym prices/, 'syms as an array');
  refusal(t, { tables: { trade: { syms: 5 } } }, /tables\.trade\.syms must be an object of sym prices/, 'syms as a number');
});

t.test('a pricing file is read from disk; a missing or malformed file is refused, naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pricing-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ tables: { trade: { perSym: 3 } } }));
  const p = loadPricing(good, 9);
  t.equal(p.amount('trade', new Set(['A', 'B'])), 6);
  t.equal(p.amount('quote', new Set(['A'])), 9, '--price for tables the file does not list');
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"default": 1,');
  const e1 = t.throws(() => loadPricing(bad, 1), ConfigError) as Error;
  t.match(e1.message, new RegExp(`^pricing file ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*JSON`), 'malformed JSON names the file');
  const e2 = t.throws(() => loadPricing(join(dir, 'absent.json'), 1), ConfigError) as Error;
  t.match(e2.message, /absent\.json: ENOENT/);
  writeFileSync(bad, JSON.stringify({ tables: { trade: -1 } }));
  const e3 = t.throws(() => loadPricing(bad, 1), ConfigError) as Error;
  t.match(e3.message, `${bad}: tables.trade must be a whole number`, 'a refusal inside the file names the file');
});
