// The tables of a chained tickerplant, read from upstream's answer to .u.sub[`;`]: a list of
// (name; empty table) pairs (u.q sub/add). Column names and vector types give the TableSchema; a general
// list column is type 0. Spec: KxSystems/kdb tick/chainedtick.q (.u.rep).
import { ConfigError, TpError } from '../errors.js';
import type { QValue } from '../ipc/index.js';
import type { TableSchema } from '../tick/index.js';

const bad = (why: string): TpError => new TpError('SCHEMA_ERR', `upstream .u.sub[\`;\`] reply: ${why}`);

/**
 * TableSchemas from the reply, in upstream's order. A (t; schema; invoice) entry means upstream wants
 * payment: a chained TP needs free access upstream, so that is a configuration error.
 */
export function schemasFromSubReply(reply: QValue): TableSchema[] {
  if (reply.type !== 0) throw bad(`expected a list of (table; schema) pairs, got type ${reply.type}`);
  const priced: string[] = [];
  const out: TableSchema[] = [];
  for (const entry of reply.items) {
    if (entry.type !== 0 || entry.items.length < 2) throw bad('expected (table; schema) pairs');
    const [name, schema] = entry.items as [QValue, QValue];
    if (name.type !== -11) throw bad('a table name is not a symbol');
    if (entry.items.length > 2) { priced.push(name.value); continue; }
    if (schema.type === 99) throw bad(`${name.value} is a keyed table; a tickerplant publishes plain tables`);
    if (schema.type !== 98) throw bad(`${name.value}: expected an empty table, got type ${schema.type}`);
    const types = schema.data.map((col, i) => {
      if (col.type === 0 || (col.type >= 1 && col.type <= 19)) return col.type;
      throw bad(`${name.value}.${schema.columns[i] ?? '?'} has type ${col.type}, which a tickerplant does not carry`);
    });
    if (schema.columns[0] !== 'time' || schema.columns[1] !== 'sym') {
      throw bad(`${name.value} does not start with time and sym ('timesym)`);
    }
    out.push({ name: name.value, columns: [...schema.columns], types });
  }
  if (priced.length > 0) {
    throw new ConfigError(`upstream asks payment for ${priced.join(', ')}: a chained tickerplant needs free access ` +
      'upstream (price 0 for these tables in the upstream pricing file, or no payment backend upstream)');
  }
  if (out.length === 0) throw bad('upstream has no tables');
  return out;
}

/** Same tables, columns and types, in any table order. */
export function sameSchemas(a: readonly TableSchema[], b: readonly TableSchema[]): boolean {
  if (a.length !== b.length) return false;
  const key = (s: TableSchema): string => `${s.name}(${s.columns.map((c, i) => `${c}:${s.types[i]}`).join(';')})`;
  const left = new Set(a.map(key));
  return b.every((s) => left.has(key(s)));
}

/** What changed, for the log line when a resubscription is refused. */
export function schemaDifference(was: readonly TableSchema[], now: readonly TableSchema[]): string {
  const names = (x: readonly TableSchema[]): string => x.map((s) => `${s.name}(${s.columns.join(',')})`).join(' ');
  return `was ${names(was)}; now ${names(now)}`;
}
