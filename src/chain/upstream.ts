// A chained tickerplant's link to its upstream (chainedtick.q's .u.m handle): connect, subscribe to every
// table with the sync string .u.sub[`;`], hand on what upstream pushes ((`upd;t;x), (`.u.end;d)) in order,
// and reconnect with backoff when upstream is down or goes away. Spec: KxSystems/kdb tick/chainedtick.q;
// code.kx.com/q/basics/ipc (messages that arrive while a sync request is out are processed first).
import { systemClock } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from 'pino';
import { QConnection } from '../client/index.js';
import { ConfigError, QError, TpError } from '../errors.js';
import { str } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { TableSchema } from '../tick/index.js';
import { describeUpstream } from './address.js';
import type { UpstreamAddress } from './address.js';
import { backoffDelay } from '../backoff.js';
import type { BackoffOptions } from '../backoff.js';
import { schemasFromSubReply } from './schemas.js';

/** chainedtick.q's subscription: every table, every sym. */
export const SUBSCRIBE_ALL = '.u.sub[`;`]';

export interface Subscription {
  readonly schemas: TableSchema[];
  /** Upstream's .u.d when it has one (tick.q does; chainedtick.q does not). */
  readonly date: number | undefined;
}

/** Where upstream's messages go, once the local tickerplant exists. */
export interface UpstreamHandler {
  /** A resubscription after a reconnect, before any of its updates. Throw to refuse it (dropped, retried). */
  resubscribed(s: Subscription): void;
  upd(t: string, x: QValue): void;
  end(d: number): void;
}

export interface UpstreamOptions extends BackoffOptions {
  readonly address: UpstreamAddress;
  readonly log: Logger;
  /** Connect and handshake timeout. [timeoutMs=5000] */
  readonly timeoutMs?: number;
  readonly maxMessageBytes?: number;
  /** Retry and connect timers; the system clock by default. */
  readonly timers?: Pick<Clock, 'after'>;
}

type State = 'connecting' | 'up' | 'down' | 'closed';

/** A pushed message waiting to be handed on; `after` is the forwarded query whose caller it waits for. */
interface Held { readonly value: QValue; readonly after: number }
/** A forwarded query; `answered` turns true synchronously when upstream's answer is read. */
interface Query { readonly seq: number; answered: boolean }
interface Attempt { readonly conn: QConnection; readonly sub: Subscription; readonly early: QValue[] }


/** Failures worth retrying: upstream not there (yet), or gone mid-way. Anything upstream *said* is not. */
function retryable(err: unknown): boolean {
  if (err instanceof QError || err instanceof ConfigError) return false;
  if (err instanceof TpError) return err.code === 'IPC_ERR_TRUNCATED';
  return true;
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class Upstream {
  private state: State = 'connecting';
  private reasonLogged: string | undefined;
  private conn: QConnection | undefined;
  /** The connection being set up (not subscribed yet), so close() can end it too. */
  private trying: QConnection | undefined;
  private handler: UpstreamHandler | undefined;
  private attempt = 0;
  private timer: Timer | undefined;
  private readonly timers: Pick<Clock, 'after'>;
  private wake: (() => void) | undefined;
  private readonly held: Held[] = [];
  private readonly queries: Query[] = [];
  private seq = 0;
  private released = 0;
  private readonly log: Logger;
  readonly name: string;

  constructor(private readonly o: UpstreamOptions) {
    this.name = describeUpstream(o.address);
    this.timers = o.timers ?? systemClock();
    this.log = o.log.child({ mod: 'chain', upstream: this.name });
  }

  get connected(): boolean { return this.state === 'up'; }
  /** A getter, so that TypeScript does not narrow the state across an await. */
  private get closed(): boolean { return this.state === 'closed'; }

  /**
   * Connects and subscribes, waiting (with backoff) while upstream cannot be reached. Rejects when
   * upstream answers in a way a chained TP cannot use: refused login, a q error, priced or bad tables.
   * Pushed messages are held until follow().
   */
  async start(): Promise<Subscription> {
    this.log.info({}, 'connecting to upstream');
    for (;;) {
      try {
        const a = await this.connectOnce();
        if (this.closed) { a.conn.close(); break; }
        this.up(a);
        return a.sub;
      } catch (err) {
        if (this.closed) break;
        if (!retryable(err)) {
          this.state = 'closed';
          this.log.error({ err: reason(err) }, 'upstream refused');
          // A bare q error ('access) says little on the command line: name the upstream.
          throw err instanceof QError ? new TpError('Q_ERR', `upstream ${this.name}: ${err.message}`, { cause: err }) : err;
        }
        this.down(err);
        await this.sleep(this.nextDelay());
        if (this.closed) break;
      }
    }
    throw new TpError('IPC_ERR_TRUNCATED', `closed before upstream ${this.name} answered`);
  }

  /** Hands on every message held since start() and all later ones. */
  follow(handler: UpstreamHandler): void {
    this.handler = handler;
    this.drain();
  }

  /** A sync request upstream (chainedr.q's `(.u `m)"..."`). Messages after its answer wait for the caller. */
  query(value: QValue): Promise<QValue> {
    const conn = this.conn;
    if (!conn || this.state !== 'up') return Promise.reject(new QError('upstream unavailable'));
    const seq = ++this.seq;
    const q: Query = { seq, answered: false };
    const answer = conn.sync(value, () => { q.answered = true; });
    this.queries.push(q);
    // The caller continues in microtasks (chainedr.q's .u.sub runs there); setImmediate comes after them.
    const release = (): void => {
      setImmediate(() => {
        const i = this.queries.findIndex((q) => q.seq === seq);
        if (i >= 0) this.queries.splice(i, 1);
        this.released = Math.max(this.released, seq);
        this.drain();
      });
    };
    answer.then(release, release);
    return answer;
  }

  close(): void {
    if (this.closed) return;
    this.state = 'closed';
    this.timer?.cancel();
    this.timer = undefined;
    this.wake?.();
    this.conn?.close();
    this.conn = undefined;
    this.trying?.close();
  }

  /** One connection: handshake, upstream's .u.d if it has one, then the subscription. */
  private async connectOnce(): Promise<Attempt> {
    const { address } = this.o;
    const conn = await QConnection.connect({
      host: address.host, port: address.port,
      ...(address.user !== undefined ? { user: address.user } : {}),
      ...(address.password !== undefined ? { password: address.password } : {}),
      timeoutMs: this.o.timeoutMs ?? 5000, timers: this.timers,
      ...(this.o.maxMessageBytes !== undefined ? { maxMessageBytes: this.o.maxMessageBytes } : {}),
    });
    if (this.closed) { conn.close(); throw new TpError('IPC_ERR_TRUNCATED', 'closed'); }
    this.trying = conn;
    // Messages in the same read as the subscription's answer come before the code after `await`:
    // they wait in `early` until the subscription is accepted.
    const early: QValue[] = [];
    conn.on('message', (v: QValue) => { if (this.conn === conn) this.onMessage(v); else early.push(v); });
    conn.on('close', (err: Error) => { if (this.conn === conn) this.dropped(err); });
    try {
      // Asked before subscribing, so no update can come between; chainedtick.q upstreams have no .u.d.
      const d = await conn.sync(str('.u.d')).catch((err: unknown) => {
        if (err instanceof QError) return undefined;
        throw err;
      });
      const reply = await conn.sync(str(SUBSCRIBE_ALL));
      return { conn, sub: { schemas: schemasFromSubReply(reply), date: d?.type === -14 ? d.value : undefined }, early };
    } catch (err) {
      conn.close();
      throw err;
    } finally {
      this.trying = undefined;
    }
  }

  private up(a: Attempt): void {
    this.conn = a.conn;
    this.attempt = 0;
    this.state = 'up';
    this.reasonLogged = undefined;
    this.log.info({ tables: a.sub.schemas.map((s) => s.name) }, 'upstream subscribed');
    for (const v of a.early) this.onMessage(v);
  }

  /**
   * One log line per change of state, not one per retry: unreachable (refused, timed out, closed) is one
   * state whatever the socket error; an answer we cannot use (e.g. tables changed) is logged once each.
   */
  private down(err: unknown): void {
    const why = reason(err);
    const key = retryable(err) ? 'unreachable' : why;
    if (this.state === 'down' && this.reasonLogged === key) return;
    const was = this.state;
    this.state = 'down';
    this.reasonLogged = key;
    this.log.warn({ err: why, was }, was === 'up' ? 'upstream lost' : 'upstream unavailable');
  }

  private dropped(err: Error): void {
    this.conn = undefined;
    // What upstream sent before it went is good data: hand it on now, in order.
    this.released = this.seq;
    this.drain();
    if (this.closed) return;
    this.down(err);
    this.retryLater();
  }

  /** The next retry's backoff, on the clock; one debug line each so an operator (and a test) sees the retries. */
  private nextDelay(): number {
    const delayMs = backoffDelay(this.attempt++, this.o);
    this.log.debug({ attempt: this.attempt, delayMs }, 'upstream retry scheduled');
    return delayMs;
  }

  private retryLater(): void {
    if (this.closed) return;
    this.timer = this.timers.after(this.nextDelay(), () => {
      this.timer = undefined;
      void this.reconnect();
    });
  }

  private async reconnect(): Promise<void> {
    let a: Attempt;
    try {
      a = await this.connectOnce();
    } catch (err) {
      if (this.closed) return;
      this.down(err);
      this.retryLater();
      return;
    }
    if (this.closed) { a.conn.close(); return; }
    try {
      this.handler?.resubscribed(a.sub);
    } catch (err) {
      a.conn.close();
      this.down(err);
      this.retryLater();
      return;
    }
    this.up(a);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => { this.wake = undefined; resolve(); };
      this.timer = this.timers.after(ms, () => { this.timer = undefined; this.wake?.(); });
    });
  }

  /**
   * In q a chained TP processes what upstream sent before the answer to a forwarded query, then the
   * rest of the caller's expression (chainedr.q subscribes there), then later messages. So a message
   * that arrives after a forwarded answer waits until that caller has run.
   */
  private onMessage(value: QValue): void {
    let after = 0;
    for (const q of this.queries) if (q.seq > after && q.answered) after = q.seq;
    if (this.handler === undefined || this.held.length > 0 || after > this.released) {
      this.held.push({ value, after });
      return;
    }
    this.dispatch(value);
  }

  private drain(): void {
    if (this.handler === undefined) return;
    while (this.held.length > 0 && (this.held[0] as Held).after <= this.released) {
      this.dispatch((this.held.shift() as Held).value);
    }
  }

  /** (`upd;t;x) and (`.u.end;d), as u.q pub and end send them. */
  private dispatch(v: QValue): void {
    const handler = this.handler as UpstreamHandler;
    const head = v.type === 0 ? v.items[0] : undefined;
    const name = head?.type === -11 ? head.value : head?.type === 10 ? Buffer.from(head.data).toString('latin1') : undefined;
    if (v.type === 0 && name === 'upd' && v.items.length === 3 && v.items[1]?.type === -11) {
      handler.upd(v.items[1].value, v.items[2] as QValue);
    } else if (v.type === 0 && name === '.u.end' && v.items.length === 2 && v.items[1]?.type === -14) {
      handler.end(v.items[1].value);
    } else {
      this.log.warn({ type: v.type, head: name ?? null }, 'unexpected message from upstream ignored');
    }
  }
}
