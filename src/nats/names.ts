// The names operators and scripts see on NATS: stream TICK_<SRC>, subjects tick.<SRC>.<table> and
// tick.<SRC>._end, and the Nats-Msg-Id of each message, `<yyyy.mm.dd>:<record index>` (`<date>:end` for
// end of day), which orders every message of a stream and makes a re-publish a duplicate.
// Spec: docs.nats.io JetStream model (streams, subjects, message deduplication).
import { ConfigError } from '../errors.js';
import { EPOCH_OFFSET_DAYS, formatQDate } from '../ipc/index.js';

/** A subject or stream token: NATS forbids '.', '*', '>' and whitespace inside one. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

export function checkSource(src: string): string {
  if (!TOKEN.test(src)) throw new ConfigError(`nats: SRC '${src}' must be letters, digits, _ or - to name a stream`);
  return src;
}

export const streamName = (src: string): string => `TICK_${src}`;
export const tableSubject = (src: string, table: string): string => `tick.${src}.${table}`;
export const endSubject = (src: string): string => `tick.${src}._end`;
export const streamSubjects = (src: string): string => `tick.${src}.>`;
/** The hot-standby lease: one KV bucket per SRC. */
export const leaseBucket = (src: string): string => `TICK_${src}_LEADER`;

/** A position in the journal: record `index` of day `date`; index END is that day's end. */
export interface Position { readonly date: number; readonly index: number }
export const END = Number.MAX_SAFE_INTEGER;

export function msgId(p: Position): string {
  return `${formatQDate(p.date)}:${p.index === END ? 'end' : p.index}`;
}

/** The position a Nats-Msg-Id names; undefined for a message this tickerplant did not write. */
export function parseMsgId(id: string | undefined): Position | undefined {
  if (id === undefined) return undefined;
  const m = /^(\d{4}\.\d{2}\.\d{2}):(\d+|end)$/.exec(id);
  if (!m) return undefined;
  const [y, mo, d] = (m[1] as string).split('.').map(Number) as [number, number, number];
  const date = Date.UTC(y, mo - 1, d) / 86_400_000 - EPOCH_OFFSET_DAYS;
  return { date, index: m[2] === 'end' ? END : Number(m[2]) };
}

export function compare(a: Position, b: Position): number {
  return a.date !== b.date ? a.date - b.date : a.index - b.index;
}

/** The position after p: the next record of the day, or the first of the next day after its end. */
export function next(p: Position): Position {
  return p.index === END ? { date: p.date + 1, index: 0 } : { date: p.date, index: p.index + 1 };
}
