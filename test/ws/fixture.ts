// A tickerplant with the HTTP/WebSocket side wired as app.ts wires it: the app (IPC for the node-q feed),
// payments over the dev node whose paywall finds WebSocket subscribers by handle, and startHttp.
// Also a small promise-based WebSocket client (the `ws` package) for the protocol tests.
import type { Test } from 'tap';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { App } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { ManualClock } from '../../src/clock.js';
import { parseCommandLine } from '../../src/config.js';
import { startHttp } from '../../src/http/index.js';
import type { HttpOptions, HttpServer } from '../../src/http/index.js';
import { devPayFor, qDevPayFor } from '../../src/app.js';
import { createBackend } from '../../src/lightning/index.js';
import { createLogger } from '../../src/log.js';
import { createPayments } from '../../src/payments/index.js';
import type { InvoiceBackend, Payments } from '../../src/payments/index.js';
import { connect, nodeq } from '../helpers/qclient.js';
import type { QClient } from '../helpers/qclient.js';
import { LogSink, startTp, T0 } from '../helpers/tp.js';

export interface Rig {
  readonly app: App;
  readonly http: HttpServer;
  /** undefined with lightning: false. */
  readonly payments: Payments | undefined;
  readonly clock: Clock;
  readonly sink: LogSink;
  readonly dataDir: string;
  /** ws://127.0.0.1:port/ws */
  readonly url: string;
  /** A node-q publisher connected to the tickerplant. */
  readonly feed: QClient;
}

export interface RigOptions {
  /** Payments with the dev node. [true] */
  readonly lightning?: boolean;
  /** The pricing file's contents. [quote free, trade 100 sat per sym] */
  readonly pricing?: unknown;
  /** [a ManualClock at T0] */
  readonly clock?: Clock;
  /** Extra startHttp options (limits, heartbeatMs, allowedOrigins, metrics). */
  readonly http?: Partial<HttpOptions>;
  /** Extra payment options as on the command line, e.g. ['--entitlement', '600ms']. */
  readonly paymentArgs?: string[];
}

export const DEFAULT_PRICING = { default: 100, tables: { quote: 0 } };

export async function startRig(t: Test, opts: RigOptions = {}): Promise<Rig> {
  const clock = opts.clock ?? new ManualClock(T0);
  const sink = new LogSink();
  const dataDir = t.testdir({ 'pricing.json': JSON.stringify(opts.pricing ?? DEFAULT_PRICING) });
  const app = await startTp(t, { clock, sink });
  const log = createLogger('debug', sink);
  const { config } = parseCommandLine(['--lightning', 'dev', '--data-dir', dataDir, '--pricing', join(dataDir, 'pricing.json'),
    ...(opts.paymentArgs ?? [])]);
  let http: HttpServer | undefined;
  let payments: Payments | undefined;
  if (opts.lightning ?? true) {
    // What app.ts does: one registry of IPC and WebSocket subscribers behind the paywall's lookup.
    const now = (): number => Number(clock.nowNanos() / 1_000_000n);
    const backend = createBackend({ lightning: 'dev', dataDir, stateDir: dataDir, devAutopayMs: config.devAutopayMs, now, log }) as InvoiceBackend;
    payments = createPayments({
      backend, tp: app.tp, clock, log, stateDir: dataDir,
      lookup: (h) => app.registry.get(h),
      priceSat: config.priceSat, pricingFile: config.pricingFile,
      invoiceExpirySeconds: config.invoiceExpirySeconds, entitlementMs: config.entitlementMs,
      maxPendingPerConn: config.maxPendingPerConn, maxPendingInvoices: config.maxPendingInvoices,
    });
    // The app's q surface reaches this paywall, as app.ts wires its own.
    Object.assign(app.surface, { paywall: payments.paywall, devPay: qDevPayFor(backend) });
    await payments.start();
  }
  const devPay = devPayFor(payments?.backend);
  http = await startHttp({
    port: 0, host: '127.0.0.1', tp: app.tp, registry: app.registry, clock, paywall: payments?.paywall, log,
    now: () => Number(clock.nowNanos() / 1_000_000n),
    heartbeatMs: 0,
    ...(devPay ? { devPay } : {}),
    ...opts.http,
  });
  const server = http;
  t.teardown(async () => {
    await server.close();
    await payments?.close();
  });
  const feed = await connect({ port: app.port });
  t.teardown(() => feed.close());
  return { app, http: server, payments, clock, sink, dataDir, url: `ws://127.0.0.1:${server.port}/ws`, feed };
}

// ---- publishing from the node-q feed ----

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
export const qsym = (x: string): unknown => q['symbol']?.(x);

export interface Trade { readonly sym: string; readonly price: number; readonly size?: number; readonly second?: number }

/** Publishes trades (.u.upd async, one row each) and waits until the tickerplant has processed them. */
export async function publishTrades(feed: QClient, trades: readonly Trade[]): Promise<void> {
  for (const x of trades) {
    feed.async('.u.upd', qsym('trade'), [q['timespan']?.(new Date(36_000_000 + (x.second ?? 0) * 1000)), qsym(x.sym),
      q['float']?.(x.price), q['int']?.(x.size ?? 100)]);
  }
  await feed.sync('');
}

export async function publishQuote(feed: QClient, sym: string, bid: number, ask: number): Promise<void> {
  feed.async('.u.upd', qsym('quote'), [q['timespan']?.(new Date(36_000_000)), qsym(sym), q['float']?.(bid),
    q['float']?.(ask), q['int']?.(10), q['int']?.(20)]);
  await feed.sync('');
}

// ---- a WebSocket client for tests ----

export type Msg = Record<string, unknown> & { type: string };

export class TestClient {
  /** Every message received, in order. */
  readonly received: Msg[] = [];
  /** Messages not yet taken by next(). */
  private readonly queue: Msg[] = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      this.received.push(m);
      this.queue.push(m);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => { resolve({ code, reason: reason.toString() }); this.wake(); });
    });
    ws.on('error', () => undefined);
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  send(m: unknown): void { this.ws.send(typeof m === 'string' ? m : JSON.stringify(m)); }

  /** The next message of this type not yet taken (earlier messages of other types stay queued). */
  next(type: string, timeoutMs = 5000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${type}' message; got ${JSON.stringify(this.received.map((m) => m.type))}`)), timeoutMs);
      const check = (): void => {
        const i = this.queue.findIndex((m) => m.type === type);
        if (i >= 0) {
          clearTimeout(timer);
          resolve(this.queue.splice(i, 1)[0] as Msg);
          return;
        }
        if (this.ws.readyState === WebSocket.CLOSED) { clearTimeout(timer); reject(new Error(`closed before a '${type}' message`)); return; }
        this.waiters.push(check);
      };
      check();
    });
  }

  /** A ping/pong round trip: everything the server sent before it has arrived. */
  async sync(): Promise<void> {
    this.send({ op: 'ping', id: 'sync' });
    await this.next('pong');
  }

  /** Queued messages of a type, taken. */
  take(type: string): Msg[] {
    const out: Msg[] = [];
    for (let i = 0; i < this.queue.length;) {
      if ((this.queue[i] as Msg).type === type) out.push(this.queue.splice(i, 1)[0] as Msg);
      else i++;
    }
    return out;
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    return this.closed;
  }
}

/** Opens a client and waits for its hello. */
export async function open(t: Test, url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient & { hello: Msg }> {
  const ws = new WebSocket(url, options);
  const c = new TestClient(ws);
  t.teardown(() => c.close());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const hello = await c.next('hello');
  return Object.assign(c, { hello });
}

/** Attempts an upgrade and reports the HTTP status when refused (0 when it was accepted). */
export function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? -1); res.resume(); ws.terminate(); });
    ws.on('open', () => { resolve(0); ws.close(); });
    ws.on('error', (err) => reject(err));
  });
}
