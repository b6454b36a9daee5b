// Glue from the IPC server to the tickerplant: the hot path (`.u.upd` lists from feeds) goes straight
// to the tickerplant; everything else is answered by the q surface's closed table of forms (q/).
// Before any of that, admit() looks at the raw bytes so that a message which can be neither is refused
// without its value being built. Spec: code.kx.com/q/basics/ipc (what a server does with sync/async
// messages, the serialized layout of a general list, a symbol and a char vector).
import type { Logger } from 'pino';
import { Q, QError } from './errors.js';
import { systemClock } from './clock.js';
import { LogRate } from './log-rate.js';
import { HEADER_BYTES, MsgType, NULL, readUpdHead } from './ipc/index.js';
import type { QValue, UpdHead } from './ipc/index.js';
import { MAX_TEXT_BYTES, acceptsCall, answer } from './q/index.js';
import type { Surface } from './q/index.js';
import type { CloseReason, Connection, Handler } from './server/index.js';
import type { Subscriber, SubscriberRegistry, Tickerplant } from './tick/index.js';

/** Whether v names an update: tick.q's .u.upd, or upd as a chained TP calls it; symbol or string. */
function isUpd(v: QValue): boolean {
  if (v.type === -11) return v.value === '.u.upd' || v.value === 'upd';
  if (v.type !== 10) return false;
  const b = v.data;
  // ".u.upd" / "upd", compared as bytes: node-q sends the function name as a char vector.
  const o = b.length === 6 && b[0] === 0x2e && b[1] === 0x75 && b[2] === 0x2e ? 3 : b.length === 3 ? 0 : -1;
  return o >= 0 && b[o] === 0x75 && b[o + 1] === 0x70 && b[o + 2] === 0x64;
}

/** The longest function name admit() reads from a call list (`.u.subPaid` is 10). */
const MAX_CALL_NAME = 32;
/** (f;x;y;z): .u.subPaid's three arguments are the most any call takes. */
const MAX_CALL_ITEMS = 4;

/**
 * Pre-decode admission: only a string (at most MAX_TEXT_BYTES), a char, a symbol, or a general list of
 * 1 to 4 items whose first item names a call form (`.u.sub`, `.u.upd`, …) may be decoded. The body is
 * the message (header first), or of a compressed one its first ADMIT_PREFIX_BYTES decompressed (all
 * this reads lies within 8 + 6 + 6 + 32 bytes); its byte 0 says the byte order.
 */
export function admit(body: Buffer): void {
  const le = body[0] === 1;
  const int = (at: number): number => (le ? body.readInt32LE(at) : body.readInt32BE(at));
  const p = HEADER_BYTES;
  if (body.length < p + 1) throw new QError(Q.access);
  const type = body.readInt8(p);
  if (type === -10 || type === -11) return;
  if (body.length < p + 6) throw new QError(Q.access);
  if (type === 10) {
    if (int(p + 2) > MAX_TEXT_BYTES) throw new QError(Q.limit);
    return;
  }
  if (type !== 0) throw new QError(Q.access);
  const items = int(p + 2);
  if (items < 1 || items > MAX_CALL_ITEMS || body.length < p + 7) throw new QError(Q.access);
  if (!acceptsCall(callName(body, p + 6, int))) throw new QError(Q.access);
}

/** The function name at `at`: a symbol, a char vector or a char atom; '' when it is none of them. */
function callName(body: Buffer, at: number, int: (at: number) => number): string {
  const type = body.readInt8(at);
  if (type === -11) {
    const end = body.indexOf(0, at + 1);
    return end < 0 || end - at - 1 > MAX_CALL_NAME ? '' : body.toString('latin1', at + 1, end);
  }
  if (type === -10) return body.length > at + 1 ? body.toString('latin1', at + 1, at + 2) : '';
  if (type !== 10 || body.length < at + 6) return '';
  const n = int(at + 2);
  return n < 0 || n > MAX_CALL_NAME || body.length < at + 6 + n ? '' : body.toString('latin1', at + 6, at + 6 + n);
}

export class Dispatcher implements Handler {
  private readonly head: UpdHead = { table: '', xAt: 0 };
  private readonly logRate: LogRate;
  /** Messages admit() refused undecoded (tickerplant_messages_refused_total). */
  refused = 0;

  constructor(
    private readonly tp: Tickerplant,
    private readonly registry: SubscriberRegistry,
    private readonly surface: Surface,
    private readonly log: Logger,
    private readonly hooks: {
      onClose?(handle: number): void;
      onConnectionClose?(conn: Connection, reason: CloseReason): void;
      /** Takes .u.upd instead of the tickerplant (a hot standby: refused, or stored in JetStream first). */
      upd?(t: string, x: QValue): Promise<QValue>;
      /** With upd: undefined when it can take more now, else when it can (an async feed is not read until then). */
      room?(): Promise<void> | undefined;
      /** A feed's bad async updates are logged once a period per table and error, not once each. [on the system clock] */
      logRate?: LogRate;
    } = {},
  ) {
    this.logRate = hooks.logRate ?? new LogRate(systemClock());
  }

  /** The hot path: a feed's (`.u.upd;`t;x) whose x the tickerplant takes from its bytes, never decoded. */
  onFrame(_conn: Connection, frame: Buffer, msgType: MsgType): QValue | undefined {
    // A hot standby or an edge takes .u.upd through its hook, decoded.
    if (this.hooks.upd || !readUpdHead(frame, this.head)) return undefined;
    return this.tp.updBytes(frame, this.head, msgType === MsgType.Sync) ? NULL : undefined;
  }

  admit(_conn: Connection, body: Buffer): void {
    try {
      admit(body);
    } catch (err) {
      this.refused++;
      throw err;
    }
  }

  onMessage(conn: Connection, value: QValue, msgType: MsgType): QValue | Promise<QValue> {
    const sync = msgType === MsgType.Sync;
    if (value.type === 0 && value.items.length > 0 && isUpd(value.items[0] as QValue)) {
      if (value.items.length !== 3) throw new QError(Q.rank);
      const t = value.items[1] as QValue;
      if (t.type !== -11) throw new QError(Q.type);
      if (this.hooks.upd) return this.replicated(conn, t.value, value.items[2] as QValue, sync);
      try {
        this.tp.upd(t.value, value.items[2] as QValue, sync);
      } catch (err) {
        if (!sync && err instanceof QError) this.badUpdate(conn, t.value, err.message);
        throw err;
      }
      return NULL;
    }
    // A sync query (a feed's chaser) is answered after the journal took what came before it: a failed
    // write has then withdrawn those rows, and .u.i says so.
    if (sync) this.tp.flushJournal();
    return answer(value, { handle: conn.handle, user: conn.user, surface: this.surface });
  }

  /** .u.upd through the hook: a sync feed gets its reply (or error) once the hook settles. */
  private replicated(conn: Connection, t: string, x: QValue, sync: boolean): QValue | Promise<QValue> {
    const upd = this.hooks.upd as (t: string, x: QValue) => Promise<QValue>;
    const count = (err: unknown): never => {
      // Not bad updates: the wrong node, or a journal or stream that cannot be written (counted, logged once).
      if (err instanceof QError && (err.message === Q.standby || err.message === Q.journal || err.message === Q.nats)) throw err;
      if (!sync && err instanceof QError) this.badUpdate(conn, t, err.message);
      throw err;
    };
    let done: Promise<QValue>;
    try {
      done = upd(t, x);
    } catch (err) {
      return count(err);
    }
    if (sync) return done.catch(count);
    done.catch(count).catch(() => {});
    const room = this.hooks.room?.();
    return room ? room.then(() => NULL) : NULL;
  }

  /** An async feed's refused update: no reply to carry the error, so a log line (one a period). */
  private badUpdate(conn: Connection, table: string, err: string): void {
    // The kind names the table and error only when they are ours: an unknown table's error is its name
    // (q's 'trade2), and a feed's names must not grow the map.
    const known = this.tp.tables.has(table);
    const kind = known ? `bad update ${table} ${err}` : 'bad update ?';
    this.logRate.warn(conn.log, kind, { table, err }, 'bad update');
  }

  /** The write-ahead barrier: journal records go to the file before the turn's socket writes. */
  beforeFlush(): void {
    this.tp.flushJournal();
  }

  /** .z.po: the connection joins the registry as a subscriber that is sent the events' q messages. */
  onOpen(conn: Connection): void {
    const s: Subscriber = { handle: conn.handle, deliver: (e) => conn.send(e.message) };
    this.registry.add(s);
  }

  onClose(conn: Connection, reason: CloseReason): void {
    this.registry.remove(conn.handle);
    this.tp.disconnect(conn.handle);
    this.hooks.onClose?.(conn.handle);
    this.hooks.onConnectionClose?.(conn, reason);
    this.log.debug({ h: conn.handle }, 'subscriptions removed');
  }
}
