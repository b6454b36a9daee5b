// Turns what a feed sent to .u.upd into checked columns, stamping the time column by tick.q's rule:
// if `first first x` is not a timespan, prepend "n"$.z.P (local time of day) as an atom for a single
// row or as a vector for columns. Spec: tick.q .u.upd; kdb-ipc-and-tick.md §6.4.
import { QError } from '../errors.js';
import { list, timespan, vector } from '../ipc/index.js';
import type { QAtom, QBigVector, QValue } from '../ipc/index.js';
import { atomToVector, rows, toColumn } from './columns.js';
import type { Column } from './columns.js';
import type { TableSchema } from './schema.js';

export interface Update {
  /** One column per schema column, all `count` long. */
  readonly columns: Column[];
  readonly count: number;
  /** x as it goes to the journal: the feed's list, with the time column when it was stamped. */
  readonly logged: QValue;
}

/** Whether x already carries a time column: `-16 = type first first x`. */
export function hasTime(x: QValue): boolean {
  if (x.type !== 0) return false;
  const f = x.items[0];
  if (f === undefined) return false;
  if (f.type === -16 || f.type === 16) return true; // first of an empty timespan vector is 0Nn
  return f.type === 0 && f.items[0]?.type === -16;
}

/**
 * Checks x against the schema and returns its columns. `now` is consulted only when stamping
 * (it returns the local time of day in ns). Errors are q's: 'type, 'length, 'mismatch.
 */
export function readUpdate(schema: TableSchema, x: QValue, now: () => bigint): Update {
  if (x.type === 98) x = tableToList(schema, x.columns, x.data);
  if (x.type !== 0) throw new QError('type');
  let items = x.items;
  let logged: QValue = x;
  const first = items[0];
  if (first === undefined) throw new QError('length');
  const single = first.type < 0;
  if (!hasTime(x)) {
    const t = now();
    if (single) {
      items = [timespan(t), ...items];
    } else {
      const n = first.type === 0 ? first.items.length : rows(first as Column);
      const times = vector(16, n) as QBigVector;
      times.data.fill(t);
      items = [times, ...items];
    }
    logged = list(...items);
  }
  const ncols = schema.columns.length;
  if (items.length !== ncols) throw new QError('length');
  const columns = new Array<Column>(ncols);
  let count = -1;
  for (let c = 0; c < ncols; c++) {
    const item = items[c] as QValue;
    if (single !== item.type < 0) throw new QError('type');
    const col = single
      ? toColumn(schema.types[c] === 0 ? list(item) : atomToVector(item as QAtom), schema.types[c] as number)
      : toColumn(item, schema.types[c] as number);
    const n = rows(col);
    if (count === -1) count = n; else if (n !== count) throw new QError('length');
    columns[c] = col;
  }
  return { columns, count, logged };
}

/** A table sent to .u.upd: its columns in schema order, with or without the time column. */
function tableToList(schema: TableSchema, names: string[], data: QValue[]): QValue {
  const want = schema.columns;
  const offset = names.length === want.length ? 0 : names.length === want.length - 1 ? 1 : -1;
  if (offset < 0) throw new QError('length');
  for (let i = 0; i < names.length; i++) if (names[i] !== want[i + offset]) throw new QError('mismatch');
  return list(...data);
}
