// q values → JSON for browsers and non-q programs, and the tickerplant's events → JSON events.
// Tables are columnar ({columns, data:{col:[...]}}); temporal values are q-style strings; see
// docs/websocket.md for the rules. Each event is rendered once from its columns, whoever it goes to:
// nothing here decodes the q message the tickerplant encoded for IPC subscribers.
import {
  date as qDate, EPOCH_OFFSET_MS, formatQDate, formatQTimespan, INF_INT, INF_LONG, NULL_INT, NULL_LONG, NULL_SHORT,
} from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { EndEvent, UpdEvent } from '../tick/index.js';
import { guidText } from '../ipc/decode.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A table as JSON: column names in order and one array per column. */
export type JsonTable = {
  readonly columns: string[];
  readonly data: Record<string, Json[]>;
};

/** The events a WebSocket client receives for the tickerplant's updates and end of day. */
export type PushEvent =
  | { readonly type: 'upd'; readonly table: string; readonly data: JsonTable }
  | { readonly type: 'end'; readonly date: Json };

const MS_PER_DAY = 86_400_000;
const two = (n: number): string => String(n).padStart(2, '0');

/** A 64-bit integer as a JSON number when exact, else as its decimal string. */
function bigToJson(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function floatToJson(v: number): number | string | null {
  if (Number.isNaN(v)) return null;
  if (v === Infinity) return '0w';
  if (v === -Infinity) return '-0w';
  return v;
}

/** 2024-01-02T09:30:00.123456789Z: ISO 8601 with q's nanoseconds. */
function formatTimestamp(nanos: bigint): string {
  let secs = nanos / 1_000_000_000n;
  if (nanos < secs * 1_000_000_000n) secs -= 1n; // floor for instants before 2000
  const rem = nanos - secs * 1_000_000_000n;
  const iso = new Date(Number(secs) * 1000 + EPOCH_OFFSET_MS).toISOString();
  return `${iso.slice(0, 19)}.${String(rem).padStart(9, '0')}Z`;
}

function formatMonth(months: number): string {
  const y = 2000 + Math.floor(months / 12);
  return `${y}.${two(months - (y - 2000) * 12 + 1)}m`;
}

/** hh:mm (minute), hh:mm:ss (second), hh:mm:ss.mmm (time): q's display, sign kept. */
function formatClock(v: number, unit: 'minute' | 'second' | 'time'): string {
  const neg = v < 0;
  let n = Math.abs(v);
  let ms = 0;
  if (unit === 'time') { ms = n % 1000; n = Math.floor(n / 1000); }
  let text: string;
  if (unit === 'minute') text = `${two(Math.floor(n / 60))}:${two(n % 60)}`;
  else text = `${two(Math.floor(n / 3600))}:${two(Math.floor(n / 60) % 60)}:${two(n % 60)}`;
  if (unit === 'time') text += `.${String(ms).padStart(3, '0')}`;
  return (neg ? '-' : '') + text;
}

function formatDatetime(days: number): string {
  return new Date(Math.round(days * MS_PER_DAY) + EPOCH_OFFSET_MS).toISOString();
}

/** One element of a 32-bit integral vector or atom, by q type (absolute value). */
function int32ToJson(type: number, v: number): Json {
  if (v === NULL_INT) return null;
  if (type === 6) return v;
  if (v === INF_INT) return '0W';
  if (v === -INF_INT) return '-0W';
  switch (type) {
    case 13: return formatMonth(v);
    case 14: return formatQDate(v);
    case 17: return formatClock(v, 'minute');
    case 18: return formatClock(v, 'second');
    default: return formatClock(v, 'time');
  }
}

/** One element of a 64-bit vector or atom: long, timestamp or timespan. */
function int64ToJson(type: number, v: bigint): Json {
  if (v === NULL_LONG) return null;
  if (type === 7) return bigToJson(v);
  if (v === INF_LONG) return '0W';
  if (v === -INF_LONG) return '-0W';
  return type === 12 ? formatTimestamp(v) : formatQTimespan(v);
}

/** A vector or general list as a JSON array (a char vector is a string, not an array). */
function itemsToJson(v: QValue): Json[] {
  switch (v.type) {
    case 0: return v.items.map(toJson);
    case 1: return Array.from(v.data, (b) => b !== 0);
    case 2: return Array.from({ length: v.data.length / 16 }, (_, i) => guidText(v.data, i * 16));
    case 4: return Array.from(v.data);
    case 5: return Array.from(v.data, (x) => (x === NULL_SHORT ? null : x));
    case 6: case 13: case 14: case 17: case 18: case 19: {
      const out = new Array<Json>(v.data.length);
      for (let i = 0; i < out.length; i++) out[i] = int32ToJson(v.type, v.data[i] as number);
      return out;
    }
    case 7: case 12: case 16: {
      const out = new Array<Json>(v.data.length);
      for (let i = 0; i < out.length; i++) out[i] = int64ToJson(v.type, v.data[i] as bigint);
      return out;
    }
    case 8: case 9: case 15: {
      const out = new Array<Json>(v.data.length);
      for (let i = 0; i < out.length; i++) {
        const x = v.data[i] as number;
        out[i] = v.type === 15 && Number.isFinite(x) ? formatDatetime(x) : floatToJson(x);
      }
      return out;
    }
    case 10: return Array.from(Buffer.from(v.data).toString('latin1'));
    case 11: return v.data.slice();
    default: return [toJson(v)];
  }
}

/** A table as {columns, data:{col:[...]}}. */
export function tableToJson(columns: readonly string[], data: readonly QValue[]): JsonTable {
  const out: Record<string, Json[]> = {};
  columns.forEach((c, i) => { out[c] = data[i] === undefined ? [] : columnToJson(data[i] as QValue); });
  return { columns: [...columns], data: out };
}

/** A column: a vector's elements, or a general list's items (a string column is a list of strings). */
function columnToJson(v: QValue): Json[] {
  return v.type >= 0 && v.type < 20 ? itemsToJson(v) : [toJson(v)];
}

/** Any q value as JSON. */
export function toJson(v: QValue): Json {
  switch (v.type) {
    case -1: return v.value;
    case -2: return v.value;
    case -4: return v.value;
    case -5: return v.value === NULL_SHORT ? null : v.value;
    case -6: case -13: case -14: case -17: case -18: case -19: return int32ToJson(-v.type, v.value);
    case -7: case -12: case -16: return int64ToJson(-v.type, v.value);
    case -8: case -9: return floatToJson(v.value);
    case -15: return Number.isFinite(v.value) ? formatDatetime(v.value) : floatToJson(v.value);
    case -10: case -11: return v.value;
    case 10: return Buffer.from(v.data).toString('utf8');
    case 98: return tableToJson(v.columns, v.data);
    case 99: case 127: return dictToJson(v.keys, v.values);
    case -128: return { error: v.message };
    default:
      if (v.type >= 0 && v.type < 20) return itemsToJson(v);
      return null; // functions: nothing a JSON client can use
  }
}

/** A dict with symbol keys is an object; any other dict is {keys, values}. */
function dictToJson(keys: QValue, values: QValue): Json {
  if (keys.type === 11) {
    const vals = values.type === 98 ? [] : itemsToJson(values);
    const out: Record<string, Json> = {};
    keys.data.forEach((k, i) => { out[k] = vals[i] ?? null; });
    return out;
  }
  return { keys: toJson(keys), values: toJson(values) };
}

/** An update as its JSON text (UTF-8), rendered once per event from its columns. */
export function updJson(e: UpdEvent): Buffer {
  return e.message.derived('json', () => updText(e.table, e.names, e.columns() as QValue[]));
}

/** The JSON text of (`upd;t;columns): what updJson renders, for rows read back from the journal too. */
export function updText(table: string, names: readonly string[], columns: readonly QValue[]): Buffer {
  const event: PushEvent = { type: 'upd', table, data: tableToJson(names, columns) };
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** End of day as its JSON text: {"type":"end","date":"2024.01.02"}. */
export function endJson(e: EndEvent): Buffer {
  return e.message.derived('json', () => {
    const event: PushEvent = { type: 'end', date: toJson(qDate(e.date)) };
    return Buffer.from(JSON.stringify(event), 'utf8');
  });
}
