// The JSON protocol over WebSocket for browsers and non-q programs: each connection is a tick Subscriber
// with the same paywall, pricing, ledger and entitlements as q subscribers. RFC 6455 by the framing the
// IPC port's kdb+ WebSockets use (src/server/rfc6455.ts); the protocol below is also in docs/websocket.md.
//
// Client → server (one JSON object per text frame; `id` is optional, any number or short string, and is
// echoed in the replies to that request):
//   {"op":"subscribe","id":1,"table":"trade","syms":["AAPL"]}   syms absent or [] = every sym
//   {"op":"unsubscribe","id":2,"table":"trade"}
//   {"op":"subPaid","id":3,"table":"trade","syms":["AAPL"],"preimage":"<hex or base64>"}
//   {"op":"pay","id":4,"payment_request":"lnbcrt..."}           dev backend only (demos, tests)
//   {"op":"ping"}
// Server → client:
//   {"type":"hello","protocol":1,"tables":{"trade":["time","sym","price","size"]},"backend":"dev"|"lnd"|"none",
//    "limits":{"max_payload":65536,"max_subscriptions":16,"max_syms":256}}
//   {"type":"subscribed","id","table","syms"}        live now (free table, or proof of payment accepted)
//   {"type":"invoice","id","table","syms","payment_request","r_hash","amount_sat","expires_at","expires_in","qr_svg"}
//   {"type":"paid","r_hash","tables","preimage"?}    the invoice settled; updates follow (preimage: lnd's proof)
//   {"type":"expired","r_hash","tables"}             the paid period ended unrenewed; updates have stopped
//   {"type":"payment","id","r_hash","preimage"}      answer to pay: the preimage is the proof for subPaid
//   {"type":"unsubscribed","id","table"}
//   {"type":"upd","table","data":{"columns":[...],"data":{"col":[...]}}}
//   {"type":"renew","tables","payment_request","r_hash","amount_sat","expires_at","expires_in","qr_svg"}
//   {"type":"end","date":"2024.01.02"}
//   {"type":"error","id","message"}                  the connection stays open...
//   {"type":"pong"}
// ...unless the client keeps misbehaving (maxErrors errors: close 1008). Frames over maxPayload close with
// 1009, text that is not UTF-8 with 1007; a client that lets maxQueuedBytes pile up is dropped; one that
// misses a heartbeat ping is ended.
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { QError } from '../errors.js';
import { CloseCode, Op, WebSocketFrames, refuseUpgrade, switchProtocols, upgradeProblem } from '../server/rfc6455.js';
import { unixMs } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import type { Offer, Paywall } from '../payments/index.js';
import type { PaidEvent, PeriodEndedEvent, Subscriber, SubscriberRegistry, SymFilter, TickEvent, Tickerplant } from '../tick/index.js';
import { endJson, updJson } from './json.js';
import type { Json } from './json.js';
import { paymentRequestSvg } from './qr.js';

export interface GatewayLimits {
  /** Largest frame a client may send; larger closes the connection (1009). [maxPayload=64 KiB] */
  readonly maxPayload: number;
  /** Tables one connection may subscribe to or wait for payment on. [maxSubscriptions=16] */
  readonly maxSubscriptions: number;
  /** Syms in one subscribe. [maxSyms=256] */
  readonly maxSyms: number;
  /** Bytes queued for one client before it is dropped as a slow consumer. [maxQueuedBytes=8 MiB] */
  readonly maxQueuedBytes: number;
  /** Open WebSocket connections; more are refused with 503. [maxConnections=1000] */
  readonly maxConnections: number;
  /** Protocol errors one connection may cause before it is closed (1008). [maxErrors=20] */
  readonly maxErrors: number;
  /** Sustained requests per second per connection; bursts of twice that. [messagesPerSecond=20] */
  readonly messagesPerSecond: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  maxPayload: 64 * 1024,
  maxSubscriptions: 16,
  maxSyms: 256,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxConnections: 1000,
  maxErrors: 20,
  messagesPerSecond: 20,
};

/** Pays a request with the built-in dev node; hex payment hash and preimage. */
export type DevPay = (paymentRequest: string) => { readonly hash: string; readonly preimage: string };

export interface GatewayOptions {
  readonly tp: Tickerplant;
  /** Where WebSocket clients get their handles and are found by the paywall and .u.sub. */
  readonly registry: SubscriberRegistry;
  /** Timers (heartbeat, closing) and, unless `now` is given, the request rate's time. */
  readonly clock: Clock;
  /** Absent: payments are off and every table is free. */
  readonly paywall?: Paywall | undefined;
  /** Present only with the dev backend: enables the "pay" op. */
  readonly devPay?: DevPay | undefined;
  readonly log: Logger;
  /** Origins allowed besides the page's own; '*' allows any. [same-origin and localhost] */
  readonly allowedOrigins?: readonly string[] | undefined;
  readonly limits?: Partial<GatewayLimits> | undefined;
  /** Ping interval; a client that has not answered the previous ping is ended. 0 = off. [30000] */
  readonly heartbeatMs?: number | undefined;
  /** Unix ms, for expires_in and the request rate. [the clock's] */
  readonly now?: (() => number) | undefined;
  /** A client was dropped for letting too much queue (tickerplant_slow_subscriber_drops_total). */
  readonly onSlowConsumer?: (() => void) | undefined;
}

/** The subprotocol the gateway answers; a client sending credentials as a subprotocol offers it beside them. */
export const WS_PROTOCOL = 'tickerplant';
/** The user name WebSocket subscribers have in the ledger and logs. */
export const WS_USER = 'ws';
const MAX_SYM_LENGTH = 64;
/**
 * A sym a gateway request may name (WebSocket or L402): 1–64 characters, none of them a control character
 * or U+FFFD (what a bad %-escape or broken UTF-8 decodes to: no feed's sym, so nothing a buyer should pay for).
 */
export const isSymName = (x: unknown): x is string =>
  typeof x === 'string' && x !== '' && x.length <= MAX_SYM_LENGTH && !/[\u0000-\u001f\u007f\ufffd]/.test(x);
const MAX_ID_LENGTH = 64;

type Id = number | string | undefined;

interface TableSub {
  syms: string[];
  live: boolean;
  /** Bumped on each subscribe so an answer that was overtaken is not sent. */
  seq: number;
}

/** Whether a browser page from `origin` may open a WebSocket on the server reached as `host`. */
export function originAllowed(origin: string | undefined, host: string | undefined,
  allowed: readonly string[] | undefined): boolean {
  if (origin === undefined) return true; // not a browser: origins protect browsers' users only
  if (allowed?.includes('*')) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (host !== undefined && url.host.toLowerCase() === host.toLowerCase()) return true;
  if (allowed !== undefined) return allowed.includes(url.origin);
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

class ProtocolError extends Error {}

/** A gateway connection's frames: whole messages of at most maxPayload bytes; text must be UTF-8 (§8.1). */
class MessageSocket extends WebSocketFrames {
  private parts: Buffer[] = [];
  protected startMessage(): boolean { this.parts = []; return true; }
  protected payload(chunk: Buffer): void { this.parts.push(Buffer.from(chunk)); }
  protected endMessage(): void {
    const data = Buffer.concat(this.parts);
    this.parts = [];
    const binary = this.messageOp === Op.Binary;
    if (!binary && !isUtf8(data)) { this.fail(CloseCode.BadData, 'websocket text is not UTF-8'); return; }
    this.emit('message', data, binary);
  }
  protected override violation(message: string): void { this.emit('error', new Error(message)); }
  send(text: Buffer): void { this.sendFrame(Op.Text, text); }
}

/** One WebSocket connection as a tick subscriber. */
class WsClient implements Subscriber {
  alive = true;
  errors = 0;
  closed = false;
  readonly tables = new Map<string, TableSub>();
  private tokens: number;
  private refilled: number;

  constructor(readonly handle: number, readonly ws: MessageSocket, private readonly gw: WsGateway,
    readonly remote: string) {
    this.tokens = gw.limits.messagesPerSecond * 2;
    this.refilled = gw.now();
  }

  /** A tick event as JSON: updates and end of day rendered once for all clients, renewals per client. */
  deliver(e: TickEvent): void {
    if (e.kind !== 'renew') {
      this.gw.flushJournal(); // the write-ahead barrier first: a row whose record failed is withdrawn
      if (e.message.gate?.withdrawn) return;
    }
    if (e.kind === 'upd') this.write(updJson(e));
    else if (e.kind === 'end') this.write(endJson(e));
    else this.sendJson(this.gw.invoiceMessage({ type: 'renew', tables: [...e.tables] }, e.hash, e.paymentRequest));
  }

  paid(event: PaidEvent): void {
    for (const t of event.tables) {
      const sub = this.tables.get(t);
      if (sub) sub.live = true;
      else this.tables.set(t, { syms: [], live: true, seq: 0 });
    }
    this.sendJson({ type: 'paid', r_hash: event.hash, tables: [...event.tables], ...(event.preimage ? { preimage: event.preimage } : {}) });
  }

  periodEnded(event: PeriodEndedEvent): void {
    for (const t of event.tables) {
      const sub = this.tables.get(t);
      if (sub) sub.live = false;
    }
    this.sendJson({ type: 'expired', r_hash: event.hash, tables: [...event.tables] });
  }

  sendJson(message: Record<string, Json | undefined>): void {
    this.write(Buffer.from(JSON.stringify(message), 'utf8'));
  }

  private write(text: Buffer): void {
    if (this.closed || !this.ws.open) return;
    // Checked before sending, so one message larger than the limit still goes to a client that keeps up.
    if (this.ws.writableLength > this.gw.limits.maxQueuedBytes) {
      this.gw.log.warn({ h: this.handle, queued: this.ws.writableLength, max: this.gw.limits.maxQueuedBytes },
        'slow websocket consumer dropped');
      this.gw.onSlowConsumer?.();
      this.ws.destroy();
      return;
    }
    this.gw.flushJournal(); // write-ahead: nothing reaches a client before its journal record
    this.ws.send(text);
  }

  /** Token bucket: false when the client sends faster than messagesPerSecond (bursts of twice that). */
  take(): boolean {
    const rate = this.gw.limits.messagesPerSecond;
    const now = this.gw.now();
    this.tokens = Math.min(rate * 2, this.tokens + ((now - this.refilled) / 1000) * rate);
    this.refilled = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class WsGateway {
  readonly limits: GatewayLimits;
  readonly log: Logger;
  readonly now: () => number;
  readonly onSlowConsumer: (() => void) | undefined;
  readonly backend: 'dev' | 'lnd' | 'none';
  private readonly clients = new Map<number, WsClient>();
  private heartbeat: Timer | undefined;

  /** The tickerplant's write-ahead barrier, before any message leaves for a client. */
  flushJournal(): void {
    this.o.tp.flushJournal();
  }

  constructor(private readonly o: GatewayOptions) {
    this.limits = { ...DEFAULT_GATEWAY_LIMITS, ...o.limits };
    this.log = o.log;
    this.onSlowConsumer = o.onSlowConsumer;
    this.now = o.now ?? (() => unixMs(o.clock));
    this.backend = o.paywall === undefined ? 'none' : o.devPay !== undefined ? 'dev' : 'lnd';
    const ms = o.heartbeatMs ?? 30_000;
    if (ms > 0) this.heartbeat = o.clock.every(ms, () => this.sweep());
  }

  /** Open connections. */
  get size(): number { return this.clients.size; }

  /** The HTTP server's 'upgrade' for the WebSocket path: origin and capacity checks, then the handshake. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.headers.host, this.o.allowedOrigins)) {
      this.log.info({ origin, remote: req.socket.remoteAddress }, 'websocket origin rejected');
      refuseUpgrade(socket, 403, 'Forbidden', {}, 'origin not allowed');
      return;
    }
    if (this.clients.size >= this.limits.maxConnections) {
      this.log.warn({ max: this.limits.maxConnections }, 'websocket connection refused: too many');
      refuseUpgrade(socket, 503, 'Service Unavailable', {}, 'too many connections');
      return;
    }
    const bad = upgradeProblem(req);
    if (bad !== undefined) {
      this.log.info({ remote: req.socket.remoteAddress, why: bad }, 'websocket upgrade refused');
      refuseUpgrade(socket, 400, 'Bad Request', { 'Sec-WebSocket-Version': '13' }, bad);
      return;
    }
    // Offered beside credentials sent as a subprotocol (docs/websocket.md): answered, never the credential.
    switchProtocols(socket, req, WS_PROTOCOL);
    const ws = new MessageSocket(socket as Socket, this.limits.maxPayload, this.o.clock);
    this.accept(ws, req);
    ws.start(head);
  }

  private accept(ws: MessageSocket, req: IncomingMessage): void {
    const handle = this.o.registry.localHandle();
    const client = new WsClient(handle, ws, this, req.socket.remoteAddress ?? '');
    this.clients.set(handle, client);
    this.o.registry.add(client);
    this.log.info({ h: handle, remote: client.remote, origin: req.headers.origin }, 'websocket client connected');
    ws.on('pong', () => { client.alive = true; });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.receive(client, data, isBinary));
    ws.on('error', (err: Error) => this.log.info({ h: handle, err: err.message }, 'websocket client error'));
    ws.on('close', (code: number) => this.closed(client, code));
    const tables: Record<string, Json> = {};
    for (const name of this.o.tp.names) tables[name] = [...(this.o.tp.tables.get(name)?.schema.columns ?? [])];
    client.sendJson({
      type: 'hello', protocol: 1, tables, backend: this.backend,
      limits: { max_payload: this.limits.maxPayload, max_subscriptions: this.limits.maxSubscriptions, max_syms: this.limits.maxSyms },
    });
  }

  /** .z.pc for a WebSocket: it leaves .u.w, its pending invoices and entitlement timers go. */
  private closed(client: WsClient, code: number): void {
    client.closed = true;
    this.clients.delete(client.handle);
    this.o.registry.remove(client.handle);
    this.o.tp.disconnect(client.handle);
    this.o.paywall?.disconnect(client.handle);
    this.log.info({ h: client.handle, code }, 'websocket client disconnected');
  }

  /** Heartbeat: ends clients that did not answer the last ping, pings the rest. */
  sweep(): void {
    for (const c of this.clients.values()) {
      if (!c.alive) {
        this.log.info({ h: c.handle }, 'websocket client missed heartbeat');
        c.ws.destroy();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  private receive(c: WsClient, data: Buffer, isBinary: boolean): void {
    let id: Id;
    try {
      if (!c.take()) throw new ProtocolError('rate limit: slow down');
      if (isBinary) throw new ProtocolError('binary frames are not part of the protocol; send JSON text');
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        throw new ProtocolError('bad JSON');
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new ProtocolError('expected a JSON object');
      const m = msg as Record<string, unknown>;
      id = readId(m['id']);
      const op = m['op'];
      switch (op) {
        case 'ping': c.sendJson({ type: 'pong', id }); return;
        case 'subscribe': this.subscribe(c, id, this.readTable(m['table']), this.readSyms(m['syms'])); return;
        case 'unsubscribe': this.unsubscribe(c, id, this.readTable(m['table'])); return;
        case 'subPaid': this.subscribePaid(c, id, m); return;
        case 'pay': this.pay(c, id, m['payment_request']); return;
        default: throw new ProtocolError(typeof op === 'string' ? `unknown op: ${op.slice(0, 32)}` : 'missing op');
      }
    } catch (err) {
      this.fail(c, id, err);
    }
  }

  /** An error answer and one log line; a client that keeps failing is closed. */
  private fail(c: WsClient, id: Id, err: unknown): void {
    const message = err instanceof ProtocolError || err instanceof QError ? err.message : 'internal error';
    if (!(err instanceof ProtocolError) && !(err instanceof QError)) {
      this.log.error({ h: c.handle, err }, 'websocket request failed');
    } else {
      this.log.warn({ h: c.handle, message }, 'websocket request rejected');
    }
    c.sendJson({ type: 'error', id, message });
    if (++c.errors >= this.limits.maxErrors && !c.closed) {
      this.log.warn({ h: c.handle, errors: c.errors }, 'websocket client closed after repeated errors');
      c.ws.close(CloseCode.Policy, 'too many errors');
    }
  }

  private readTable(t: unknown): string {
    if (typeof t !== 'string' || t === '') throw new ProtocolError('table must be a table name');
    if (!this.o.tp.tables.has(t)) throw new ProtocolError(`no such table: ${t.slice(0, MAX_SYM_LENGTH)}`);
    return t;
  }

  private readSyms(s: unknown): string[] {
    if (s === undefined || s === null) return [];
    if (!Array.isArray(s)) throw new ProtocolError('syms must be an array of strings');
    if (s.length > this.limits.maxSyms) throw new ProtocolError(`at most ${this.limits.maxSyms} syms per subscription`);
    const syms = new Set<string>();
    for (const x of s) {
      if (!isSymName(x)) {
        throw new ProtocolError(`syms must be non-empty strings of at most ${MAX_SYM_LENGTH} characters`);
      }
      syms.add(x);
    }
    return [...syms];
  }

  private subscribe(c: WsClient, id: Id, table: string, syms: string[]): void {
    const existing = c.tables.get(table);
    if (!existing && c.tables.size >= this.limits.maxSubscriptions) {
      throw new ProtocolError(`at most ${this.limits.maxSubscriptions} subscriptions per connection`);
    }
    const filter: SymFilter = syms.length === 0 ? null : new Set(syms);
    const sub: TableSub = { syms, live: false, seq: (existing?.seq ?? 0) + 1 };
    c.tables.set(table, sub);
    const { paywall, tp } = this.o;
    let replies: Offer[] | Promise<Offer[]>;
    try {
      if (paywall) replies = paywall.subscribe(c, { user: WS_USER, peer: c.remote }, [table], filter);
      else { tp.sub(c, table, filter); replies = [{ kind: 'free', table }]; }
    } catch (err) {
      if (c.tables.get(table) === sub) c.tables.delete(table);
      throw err;
    }
    const answer = (r: Offer[]): void => {
      if (c.closed || c.tables.get(table) !== sub) return; // gone, or overtaken by a newer subscribe
      const offer = r[0];
      if (offer?.kind === 'invoice') {
        c.sendJson(this.invoiceMessage({ type: 'invoice', id, table, syms }, offer.invoice.hash, offer.invoice.paymentRequest));
        return;
      }
      if (offer?.kind !== 'free') {
        if (c.tables.get(table) === sub) c.tables.delete(table);
        // 'handle: the paywall's lookup cannot find this subscriber (it must include the gateway's).
        this.fail(c, id, offer?.error === 'handle' || offer === undefined
          ? new Error("subscriber unknown to the paywall: its lookup must include the gateway's")
          : new QError(offer.error));
        return;
      }
      sub.live = true;
      c.sendJson({ type: 'subscribed', id, table, syms });
    };
    if (!(replies instanceof Promise)) { answer(replies); return; }
    replies.then(answer, (err: unknown) => {
      if (c.tables.get(table) === sub) c.tables.delete(table);
      if (!c.closed) this.fail(c, id, err);
    });
  }

  /** An invoice (or renewal) message: amount and expiry from the paywall, the QR code drawn here. */
  invoiceMessage(head: Record<string, Json | undefined>, rHash: string, paymentRequest: string): Record<string, Json | undefined> {
    const info = this.o.paywall?.describe(rHash);
    const expiresAt = info?.expiresAt;
    return {
      ...head,
      payment_request: info?.paymentRequest ?? paymentRequest,
      r_hash: rHash,
      amount_sat: info?.amountSat ?? null,
      expires_at: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
      expires_in: expiresAt === undefined ? null : Math.max(0, Math.floor((expiresAt - this.now()) / 1000)),
      qr_svg: paymentRequest === '' ? null : paymentRequestSvg(info?.paymentRequest ?? paymentRequest),
    };
  }

  private unsubscribe(c: WsClient, id: Id, table: string): void {
    c.tables.delete(table);
    this.o.tp.w.remove(table, c.handle);
    this.o.paywall?.cancel(c.handle, table);
    c.sendJson({ type: 'unsubscribed', id, table });
  }

  private subscribePaid(c: WsClient, id: Id, m: Record<string, unknown>): void {
    const paywall = this.o.paywall;
    if (!paywall) throw new ProtocolError('payments are off: subscribe instead');
    const table = this.readTable(m['table']);
    const syms = this.readSyms(m['syms']);
    const preimage = m['preimage'];
    if (typeof preimage !== 'string' || preimage.length > 128) throw new ProtocolError('preimage must be a hex or base64 string');
    if (!c.tables.has(table) && c.tables.size >= this.limits.maxSubscriptions) {
      throw new ProtocolError(`at most ${this.limits.maxSubscriptions} subscriptions per connection`);
    }
    // Looked up in lnd first when the ledger has not heard of the settlement (subPaidLookedUp).
    void paywall.subPaidLookedUp(c, table, syms.length === 0 ? null : new Set(syms), preimage).then((claim) => {
      if (c.closed) return;
      if (claim.kind === 'refused') { this.fail(c, id, new QError(claim.error)); return; }
      c.tables.set(table, { syms, live: true, seq: (c.tables.get(table)?.seq ?? 0) + 1 });
      c.sendJson({ type: 'subscribed', id, table, syms });
    }, (err: unknown) => { if (!c.closed) this.fail(c, id, err); });
  }

  private pay(c: WsClient, id: Id, paymentRequest: unknown): void {
    const devPay = this.o.devPay;
    if (!devPay) throw new ProtocolError('pay is only available with the dev backend');
    if (typeof paymentRequest !== 'string' || paymentRequest === '' || paymentRequest.length > 4096) {
      throw new ProtocolError('payment_request must be a BOLT11 string');
    }
    let paid: { hash: string; preimage: string };
    try {
      paid = devPay(paymentRequest);
    } catch (err) {
      throw new ProtocolError(`payment failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    c.sendJson({ type: 'payment', id, r_hash: paid.hash, preimage: paid.preimage });
  }

  /** Ends every connection (code 1001; those that do not close their side promptly are cut off) and the heartbeat. */
  close(): void {
    this.heartbeat?.cancel();
    for (const c of this.clients.values()) c.ws.close(CloseCode.GoingAway, 'server shutting down');
  }
}

function readId(v: unknown): Id {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.length <= MAX_ID_LENGTH) return v;
  return undefined;
}
