// Turns what a feed sent to .u.upd into checked columns, stamping the time column by tick.q's rule:
// if `first first x` is not a timespan, prepend "n"$.z.P (local time of day) as an atom for a single
// row or as a vector for columns. Spec: KxSystems/kdb-tick tick.q .u.upd.
import { QError } from '../errors.js';
import { list, timespan, vector } from '../ipc/index.js';
import type { QAtom, QBigVector, QValue } from '../ipc/index.js';
import { atomToVector, rows, toColumn } from './columns.js';
import type { Column } from './columns.js';
import type { TableSchema } from './schema.js';

export interface Update {
  /** Rows in the update. */
  readonly count: number;
  /** A single row given as a list of atoms. */
  readonly single: boolean;
  /** The time of day stamped on it (tick.q's rule), undefined when x carried its own time column. */
  readonly stampedAt: bigint | undefined;
  /** x as it goes to the journal: the feed's list, with the time column when it was stamped. */
  logged(): QValue;
  /** One column per schema column, all `count` long (built on first use: the hot path may not need them). */
  columns(): Column[];
  /** The sym column's values, for subscription filters. */
  syms(): readonly string[] | undefined;
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
 * Checks x against the schema. `now` is consulted only when stamping (it returns the local time of
 * day in ns). Errors are q's: 'type, 'length, 'mismatch. Nothing is built for a one-row update until
 * asked for.
 */
export function readUpdate(schema: TableSchema, x: QValue, now: () => bigint): Update {
  if (x.type === 98) x = tableToList(schema, x.columns, x.data);
  if (x.type !== 0) throw new QError('type');
  const given = x.items;
  const first = given[0];
  if (first === undefined) throw new QError('length');
  const single = first.type < 0;
  const stampedAt = hasTime(x) ? undefined : now();
  const offset = stampedAt === undefined ? 0 : 1;
  const ncols = schema.columns.length;
  if (given.length + offset !== ncols) throw new QError('length');
  const types = schema.types;
  if (single) {
    for (let c = offset; c < ncols; c++) {
      const item = given[c - offset] as QValue;
      const want = types[c] as number;
      // tick.q takes any x with 0>type first x as one row: an untyped `()` column holds any item (a
      // string, a list), a typed one exactly its atom.
      if (want !== 0 && item.type !== -want) throw new QError('type');
    }
    const items = (): QValue[] => (stampedAt === undefined ? given : [timespan(stampedAt), ...given]);
    let columns: Column[] | undefined;
    return {
      count: 1, single, stampedAt,
      logged: () => (stampedAt === undefined ? x : list(...items())),
      columns: () => (columns ??= items().map((item, c) =>
        types[c] === 0 ? list(item) : atomToVector(item as QAtom))),
      syms: () => {
        const s = given[1 - offset];
        return s?.type === -11 ? [s.value] : undefined;
      },
    };
  }
  if (first.type > 19) throw new QError('type'); // a dict, table or function is not a column: rows() cannot count it
  const count = first.type === 0 ? first.items.length : rows(first as Column);
  const columns = new Array<Column>(ncols);
  if (stampedAt !== undefined) {
    const times = vector(16, count) as QBigVector;
    times.data.fill(stampedAt);
    columns[0] = times;
  }
  for (let c = offset; c < ncols; c++) {
    const item = given[c - offset] as QValue;
    if (item.type < 0) throw new QError('type');
    const col = toColumn(item, types[c] as number);
    if (rows(col) !== count) throw new QError('length');
    columns[c] = col;
  }
  return {
    count, single, stampedAt,
    logged: () => (stampedAt === undefined ? x : list(columns[0] as Column, ...given)),
    columns: () => columns,
    syms: () => {
      const s = columns[1];
      return s?.type === 11 ? s.data : undefined;
    },
  };
}

/** A table sent to .u.upd: its columns in schema order, with or without the time column. */
function tableToList(schema: TableSchema, names: string[], data: QValue[]): QValue {
  const want = schema.columns;
  const offset = names.length === want.length ? 0 : names.length === want.length - 1 ? 1 : -1;
  if (offset < 0) throw new QError('length');
  for (let i = 0; i < names.length; i++) if (names[i] !== want[i + offset]) throw new QError('mismatch');
  return list(...data);
}
