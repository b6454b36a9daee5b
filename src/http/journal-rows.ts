// Rows read back from today's journal for the HTTP routes (an SSE reconnect's missed rows, the last row
// per sym): one record at a time with the streaming reader `tickerplant replay --to` uses, so memory is
// one small block whatever the journal's size. A record is tick.q's (`upd;t;x) with x already stamped.
// Positions are journal record counts, as .u.i: "position n" means records 0 … n-1 have been read.
import { formatQDate } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import { records } from '../journal/index.js';
import { readUpdate } from '../tick/index.js';
import type { SymFilter, Tickerplant } from '../tick/index.js';
import { take } from '../tick/columns.js';
import type { Column } from '../tick/columns.js';

/** The reader's block: small, since many streams may read at once (it grows for a larger record). */
const BLOCK_BYTES = 64 * 1024;
/** Records read between two yields to the event loop, so one long read never stalls other clients. */
const RECORDS_PER_TURN = 512;

/** An event id: the journal's day and position, e.g. 2026.12.01:1234 (a Last-Event-ID names it back). */
export function positionId(day: number, position: number): string {
  return `${formatQDate(day)}:${position}`;
}

/** `2026.12.01:1234` → its day (q date) and position; undefined when it is not one of our ids. */
export function parsePositionId(id: string): { day: number; position: number } | undefined {
  const m = /^(\d{4})\.(\d{2})\.(\d{2}):(\d{1,15})$/.exec(id);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const day = Math.round((ms - Date.UTC(2000, 0, 1)) / 86_400_000);
  if (!Number.isFinite(day) || formatQDate(day) !== `${m[1]}.${m[2]}.${m[3]}`) return undefined;
  return { day, position: Number(m[4]) };
}

/** The published position a reader may catch up to: .u.i (batch mode's unpublished records excluded). */
export function publishedPosition(tp: Tickerplant): number { return tp.i; }

/**
 * The position a live update carries while it is delivered: zero-latency mode counts its record before
 * publishing (.u.i), batch mode publishes (i, j] and only then sets i to j.
 */
export function livePosition(tp: Tickerplant): number { return tp.batch ? tp.j : tp.i; }

/** The rows of `table` in one journal record, restricted to `filter`; undefined when it holds none. */
export function recordRows(tp: Tickerplant, record: QValue, table: string, filter: SymFilter): Column[] | undefined {
  if (record.type !== 0 || record.items.length !== 3) return undefined;
  const [fn, t, x] = record.items as [QValue, QValue, QValue];
  if (fn.type !== -11 || fn.value !== 'upd' || t.type !== -11 || t.value !== table) return undefined;
  const schema = tp.tables.get(table)?.schema;
  if (!schema) return undefined;
  let cols: Column[];
  try {
    cols = readUpdate(schema, x, () => 0n).columns();
  } catch {
    return undefined; // a record this schema does not read (written under another one): no rows of ours
  }
  if (filter === null) return cols;
  const syms = cols[1];
  if (syms?.type !== 11) return undefined;
  const idx = new Int32Array(syms.data.length);
  let k = 0;
  for (let i = 0; i < syms.data.length; i++) if (filter.has(syms.data[i] as string)) idx[k++] = i;
  if (k === 0) return undefined;
  return k === syms.data.length ? cols : cols.map((c) => take(c, idx, k));
}

export interface ReadResult {
  /** The position reached. */
  readonly position: number;
  /** The journal ended (or turned corrupt) before the position asked for. */
  readonly short: boolean;
}

/**
 * Reads `path` from position `from` up to `to` (undefined: its end), calling `each` with the rows of
 * `table` within `filter` and the position after their record. `each` may return a promise (a socket
 * draining): reading waits for it. `stopped` is asked between records.
 */
export async function readRows(tp: Tickerplant, path: string, table: string, filter: SymFilter, from: number, to: number | undefined,
  each: (cols: Column[], position: number) => void | Promise<void>, stopped: () => boolean): Promise<ReadResult> {
  const it = records(path, { from, ...(to !== undefined ? { limit: to } : {}), blockBytes: BLOCK_BYTES });
  let position = from;
  try {
    for (let n = 1; ; n++) {
      if (stopped()) return { position, short: false };
      const step = it.next();
      if (step.done) return { position, short: to !== undefined && position < to };
      position++;
      const cols = recordRows(tp, step.value, table, filter);
      if (cols) {
        const wait = each(cols, position);
        if (wait) await wait;
      }
      if (n % RECORDS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    it.return({ chunks: 0, validBytes: 0, ok: false });
  }
}
