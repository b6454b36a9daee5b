// Simulated market data for --demo-feed: random-walk trades and quotes for a few tickers, published
// in-process through tp.upd as a q feed sends them (one vector per column, no time column: tick.q stamps it).
import type { Logger } from 'pino';
import type { Clock, Timer } from './clock.js';
import { list, symbols, vector } from './ipc/index.js';
import type { QValue, QVectorType } from './ipc/index.js';
import type { TableSchema, Tickerplant } from './tick/index.js';

export interface DemoFeedOptions {
  readonly tp: Pick<Tickerplant, 'upd' | 'tables'>;
  readonly log: Logger;
  /** Paces the updates (the app's one clock). */
  readonly clock: Pick<Clock, 'every'>;
  /** Updates per second, tables taken in turn. [ratePerSec=20] */
  readonly ratePerSec?: number;
  readonly syms?: readonly string[];
  /** Most rows in one update. [maxRows=4] */
  readonly maxRows?: number;
  /** Uniform on [0, 1). [random=Math.random] */
  readonly random?: () => number;
}

export interface DemoFeed {
  /** Publishes one update now (what the timer does). */
  step(): void;
  stop(): void;
}

export const DEMO_SYMS: readonly string[] = ['AAPL', 'GOOGL', 'MSFT', 'IBM', 'AMZN'];
const START_PRICE: Readonly<Record<string, number>> = { AAPL: 190, GOOGL: 140, MSFT: 370, IBM: 160, AMZN: 150 };
/** Column types the feed can fill after time and sym: short, int, long (sizes), real, float (prices). */
const FILLABLE = new Set([5, 6, 7, 8, 9]);
const TABLES = ['trade', 'quote'];

/** Prices move by up to ±0.1% an update; a quote's spread is 1–5 cents each side. */
export function startDemoFeed(options: DemoFeedOptions): DemoFeed {
  const { tp, log } = options;
  const random = options.random ?? Math.random;
  const syms = options.syms ?? DEMO_SYMS;
  const maxRows = Math.max(1, options.maxRows ?? 4);
  const rate = options.ratePerSec ?? 20;
  const schemas = TABLES.map((t) => tp.tables.get(t)?.schema)
    .filter((s): s is TableSchema => s !== undefined && s.types.slice(2).every((x) => FILLABLE.has(x)));
  const mid = new Map(syms.map((s) => [s, START_PRICE[s] ?? 100]));
  const warned = new Set<string>();
  let turn = 0;
  let timer: Timer | undefined;

  const step = (): void => {
    const schema = schemas[turn++ % schemas.length];
    if (!schema || syms.length === 0) return;
    try {
      tp.upd(schema.name, update(schema));
    } catch (err) {
      if (warned.has(schema.name)) return;
      warned.add(schema.name);
      log.warn({ table: schema.name, err: err instanceof Error ? err.message : String(err) }, 'demo feed update failed');
    }
  };

  const update = (schema: TableSchema): QValue => {
    const n = 1 + Math.floor(random() * maxRows);
    const rows = Array.from({ length: n }, () => syms[Math.floor(random() * syms.length)] as string);
    const px = rows.map((s) => {
      const p = Math.max(0.01, (mid.get(s) as number) * (1 + 0.001 * (2 * random() - 1)));
      mid.set(s, p);
      return cents(p);
    });
    const spread = rows.map(() => (1 + Math.floor(random() * 5)) / 100);
    const columns = schema.columns.slice(2).map((name, c) => {
      const type = schema.types[c + 2] as QVectorType;
      const values = type === 8 || type === 9
        ? px.map((p, i) => name === 'bid' ? cents(p - (spread[i] as number)) : name === 'ask' ? cents(p + (spread[i] as number)) : p)
        : rows.map(() => 100 * (1 + Math.floor(random() * 10)));
      return fill(type, values);
    });
    return list(symbols(rows), ...columns);
  };

  if (schemas.length === 0) {
    log.warn({ tables: TABLES }, 'demo feed has no trade or quote table it can fill');
  } else if (rate > 0) {
    timer = options.clock.every(1000 / rate, step).unref();
    log.info({ tables: schemas.map((s) => s.name), syms, ratePerSec: rate }, 'demo feed started');
  }
  return {
    step,
    stop() {
      timer?.cancel();
      timer = undefined;
    },
  };
}

const cents = (x: number): number => Math.round(x * 100) / 100;

function fill(type: QVectorType, values: number[]): QValue {
  const v = vector(type, values.length);
  values.forEach((x, i) => {
    if (v.data instanceof BigInt64Array) v.data[i] = BigInt(x);
    else if (!Array.isArray(v.data)) v.data[i] = x;
  });
  return v;
}
