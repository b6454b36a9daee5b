// Glue from the IPC server to the tickerplant: the hot path (`.u.upd` lists from feeds) goes straight
// to the tickerplant; everything else is q's `value`, restricted to the whitelisted subset in q/.
// Spec: kdb-ipc-and-tick.md §8 (what a q server does with sync/async messages).
import type { Logger } from 'pino';
import { QError } from './errors.js';
import { MsgType, NULL, readUpdHead } from './ipc/index.js';
import type { QValue, UpdHead } from './ipc/index.js';
import { evaluateMessage } from './q/index.js';
import type { Env } from './q/index.js';
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

export class Dispatcher implements Handler {
  private readonly head: UpdHead = { table: '', xAt: 0 };

  constructor(
    private readonly tp: Tickerplant,
    private readonly registry: SubscriberRegistry,
    private readonly env: Env,
    private readonly log: Logger,
    private readonly hooks: {
      onClose?(handle: number): void;
      onConnectionClose?(conn: Connection, reason: CloseReason): void;
      /** Takes .u.upd instead of the tickerplant (a hot standby: refused, or stored in JetStream first). */
      upd?(t: string, x: QValue): Promise<QValue>;
    } = {},
  ) {}

  /** The hot path: a feed's (`.u.upd;`t;x) whose x the tickerplant takes from its bytes, never decoded. */
  onFrame(_conn: Connection, frame: Buffer, msgType: MsgType): QValue | undefined {
    // A hot standby or an edge takes .u.upd through its hook, decoded.
    if (this.hooks.upd || !readUpdHead(frame, this.head)) return undefined;
    return this.tp.updBytes(frame, this.head, msgType === MsgType.Sync) ? NULL : undefined;
  }

  onMessage(conn: Connection, value: QValue, msgType: MsgType): QValue | Promise<QValue> {
    const sync = msgType === MsgType.Sync;
    if (value.type === 0 && value.items.length === 3) {
      if (isUpd(value.items[0] as QValue)) {
        const t = value.items[1] as QValue;
        if (t.type !== -11) throw new QError('type');
        if (this.hooks.upd) return this.replicated(conn, t.value, value.items[2] as QValue, sync);
        try {
          this.tp.upd(t.value, value.items[2] as QValue, sync);
        } catch (err) {
          if (!sync && err instanceof QError) conn.log.warn({ table: t.value, err: err.message }, 'bad update');
          throw err;
        }
        return NULL;
      }
    }
    return evaluateMessage(value, this.env, { handle: conn.handle, user: conn.user });
  }

  /** .u.upd through the hook: a sync feed gets its reply (or error) once the hook settles. */
  private replicated(conn: Connection, t: string, x: QValue, sync: boolean): QValue | Promise<QValue> {
    const upd = this.hooks.upd as (t: string, x: QValue) => Promise<QValue>;
    const count = (err: unknown): never => {
      if (err instanceof QError && err.message === 'standby') throw err; // not a bad update: the wrong node
      if (!sync && err instanceof QError) conn.log.warn({ table: t, err: err.message }, 'bad update');
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
    return NULL;
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
