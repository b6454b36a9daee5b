// Shared harness for the server-layer tests: a small q-like Handler, an IpcServer on port 0 closed in
// teardown, raw sockets that speak the wire protocol through node-q's own codec, and a test TLS cert.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Clock } from '../../src/clock.js';
import { QError } from '../../src/errors.js';
import { NULL, float, list, long, MsgType, sym, symbols, text } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';
import { createLogger } from '../../src/log.js';
import { IpcServer } from '../../src/server/index.js';
import type { Authenticator, CloseReason, Connection, Handler, Limits } from '../../src/server/index.js';
import { nodeq, QClient } from '../helpers/qclient.js';
import { LogSink, until } from '../helpers/tp.js';

const require = createRequire(import.meta.url);

/** node-q's codec (lib/c.js): an independent implementation to build and read raw-socket traffic. */
interface NodeQCodec {
  serialize(x: unknown): Buffer;
  deserialize(b: Buffer, nanos2date?: boolean, flipTables?: boolean, emptyChar2null?: boolean,
    long2number?: boolean): unknown;
}
export const nodeqCodec = require('node-q/lib/c.js') as NodeQCodec;

/** A sync request as node-q frames it (`k`): node-q's async framing with byte 1 set to 1. */
export function syncRequest(x: unknown): Buffer {
  const b = nodeqCodec.serialize(x);
  b[1] = MsgType.Sync;
  return b;
}

/** An async message as node-q frames it (`ks`). */
export const asyncMessage = (x: unknown): Buffer => nodeqCodec.serialize(x);

/** The handshake bytes a client sends. */
export const handshake = (credentials = 'anonymous', capability = 3): Buffer =>
  Buffer.concat([Buffer.from(credentials, 'latin1'), Buffer.from([capability, 0])]);

/** A promise with its resolve exposed: lets a test decide when a slow request finishes. */
export class Gate {
  readonly promise: Promise<void>;
  open!: () => void;
  constructor() {
    this.promise = new Promise((r) => { this.open = r; });
  }
}

export interface Seen { readonly handle: number; readonly value: QValue; readonly msgType: MsgType }

/** Most messages a `("push";n)` may ask for: fuzzed frames must not make the server push forever. */
const MAX_PUSH = 100_000;

/**
 * q-like test handler (q's .z.po, .z.pg/.z.ps, .z.pc):
 * - "ping" → `pong; "" → ::; "boom" → 'boom; "crash" → a non-q exception (the client sees 'error);
 * - "slow" → a Promise of `slow, settled when the current gate opens; "slowfail" → a Promise rejected with 'late;
 * - ("add";x;y…) → the sum (float if any float, else long); ("push";n) → pushes n (`upd;`trade;i), answers n;
 * - ("big";n) → pushes one (`upd;`trade;n#`AAPL) (compressible once over 2000 bytes), answers n;
 * - "unencodable"/"slowunencodable"/"nulerror" → a result (now / as a Promise) or error that cannot be serialised;
 * - anything else → 'nyi. Async messages are recorded in `asyncs` and evaluated the same way (no reply).
 */
export class TestHandler implements Handler {
  readonly opened: number[] = [];
  readonly closed: Array<{ readonly handle: number; readonly reason: CloseReason }> = [];
  readonly asyncs: Seen[] = [];
  /** Names of requests in the order the handler saw them. */
  readonly calls: string[] = [];
  /** Gate for "slow": replaced by tests that want to hold a reply; the default is already open. */
  gate: Gate = openGate();
  readonly conns = new Map<number, Connection>();
  private closeWaiters: Array<() => void> = [];

  onOpen(conn: Connection): void {
    this.opened.push(conn.handle);
    this.conns.set(conn.handle, conn);
  }

  onClose(conn: Connection, reason: CloseReason): void {
    this.closed.push({ handle: conn.handle, reason });
    this.conns.delete(conn.handle);
    for (const w of this.closeWaiters.splice(0)) w();
  }

  /** Resolves once onClose has been called for `handle`. */
  async waitClosed(handle: number): Promise<CloseReason> {
    for (;;) {
      const hit = this.closed.find((c) => c.handle === handle);
      if (hit) return hit.reason;
      await new Promise<void>((r) => this.closeWaiters.push(r));
    }
  }

  onMessage(conn: Connection, value: QValue, msgType: MsgType): QValue | Promise<QValue> {
    if (msgType === MsgType.Async) this.asyncs.push({ handle: conn.handle, value, msgType });
    const name = nameOf(value);
    this.calls.push(name ?? '?');
    const args = value.type === 0 ? value.items.slice(1) : [];
    switch (name) {
      case 'ping': return sym('pong');
      case '': return NULL;
      case 'boom': throw QError.named('boom');
      case 'crash': throw new Error('internal detail that must not reach the client');
      case 'slow': return this.gate.promise.then(() => sym('slow'));
      case 'slowfail': return this.gate.promise.then(() => { throw QError.named('late'); });
      case 'add': return add(args);
      case 'push': {
        const n = args.length === 1 ? numberOf(args[0] as QValue) : undefined;
        if (n === undefined || !Number.isInteger(n) || n < 0 || n > MAX_PUSH) throw QError.named('domain');
        for (let i = 0; i < n; i++) conn.sendValue(list(sym('upd'), sym('trade'), long(BigInt(i))));
        return long(BigInt(n));
      }
      case 'unencodable': return sym('nul\0inside'); // a symbol cannot hold NUL: encoding the reply fails
      case 'slowunencodable': return this.gate.promise.then(() => sym('nul\0inside'));
      case 'nulerror': throw QError.named('nul\0inside'); // q error text is a symbol too
      case 'big': {
        const n = args.length === 1 ? numberOf(args[0] as QValue) : undefined;
        if (n === undefined || !Number.isInteger(n) || n < 0 || n > MAX_PUSH) throw QError.named('domain');
        conn.sendValue(bigUpdate(n));
        return long(BigInt(n));
      }
      default: throw QError.named('nyi');
    }
  }
}

/** What ("big";n) pushes. */
export const bigUpdate = (n: number): QValue => list(sym('upd'), sym('trade'), symbols(new Array<string>(n).fill('AAPL')));

function openGate(): Gate {
  const g = new Gate();
  g.open();
  return g;
}

/** The request's name: the text of a string, or of a list's first item (string or symbol). */
function nameOf(v: QValue): string | undefined {
  if (v.type === 10) return text(v);
  if (v.type === 0 && v.items.length > 0) {
    const head = v.items[0] as QValue;
    if (head.type === 10) return text(head);
    if (head.type === -11) return head.value;
  }
  return undefined;
}

function numberOf(v: QValue): number | undefined {
  switch (v.type) {
    case -4: case -5: case -6: case -8: case -9: return v.value;
    case -7: return Number(v.value);
    default: return undefined;
  }
}

function add(args: QValue[]): QValue {
  if (args.length === 0) throw new QError('rank');
  let sum = 0;
  let anyFloat = false;
  for (const a of args) {
    const n = numberOf(a);
    if (n === undefined) throw new QError('type');
    if (a.type === -8 || a.type === -9) anyFloat = true;
    sum += n;
  }
  return anyFloat ? float(sum) : long(BigInt(Math.trunc(sum)));
}

export interface Started {
  readonly server: IpcServer;
  readonly handler: TestHandler;
  readonly sink: LogSink;
  readonly port: number;
}

export interface StartOptions {
  readonly limits?: Partial<Limits>;
  readonly authenticator?: Authenticator;
  readonly host?: string;
  readonly level?: 'info' | 'debug';
  readonly clock?: Clock;
}

/** An IpcServer with a TestHandler listening on TCP port 0, closed in t.teardown. */
export async function startServer(t: Test, opts: StartOptions = {}): Promise<Started> {
  const sink = new LogSink();
  const handler = new TestHandler();
  const server = new IpcServer({
    handler,
    log: createLogger(opts.level ?? 'info', sink),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  t.teardown(() => server.close());
  const addr = await server.listenTcp(0, opts.host ?? '127.0.0.1');
  return { server, handler, sink, port: addr.port as number };
}

/** A short directory for unix socket paths (sun_path holds ~107 bytes), removed in teardown. */
export function shortTempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tps-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fresh self-signed certificate for 127.0.0.1 made by the openssl command line, in t.testdir(). Without
 * openssl, the checked-in test certificate (test/fixtures/tls, also valid for 127.0.0.1) stands in.
 */
export function selfSignedCert(t: Test): { cert: Buffer; key: Buffer } {
  const dir = t.testdir({});
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  try {
    makeCert(key, cert);
  } catch (err) {
    t.comment(`openssl failed (${String(err)}): using test/fixtures/tls/lnd.cert`);
    const fixtures = new URL('../fixtures/tls/', import.meta.url);
    return { cert: readFileSync(new URL('lnd.cert', fixtures)), key: readFileSync(new URL('lnd.key', fixtures)) };
  }
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

function makeCert(key: string, cert: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', key, '-out', cert, '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
}

/**
 * A raw socket: writes whatever bytes a test wants and records everything the server sends back, in the
 * chunks the socket delivered them, until the server closes.
 */
export class RawClient {
  readonly chunks: Buffer[] = [];
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  ended = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => { this.chunks.push(c); this.wake(); });
    socket.on('end', () => { this.ended = true; });
    socket.on('error', () => undefined); // ECONNRESET is an expected outcome of an attack
    this.closed = new Promise((r) => socket.once('close', () => { this.wake(); r(); }));
  }

  static connect(where: { port: number; host?: string; localAddress?: string } | { path: string }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in where ? net.connect(where.path)
        : net.connect({ port: where.port, host: where.host ?? '127.0.0.1', ...(where.localAddress ? { localAddress: where.localAddress } : {}) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new RawClient(socket));
      });
    });
  }

  get bytes(): Buffer { return Buffer.concat(this.chunks); }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  /** Sends a handshake and returns the first chunk the server sent back (its reply). */
  async handshake(credentials = 'anonymous', capability = 3): Promise<Buffer> {
    this.write(handshake(credentials, capability));
    await this.until(() => this.chunks.length > 0);
    return this.chunks[0] as Buffer;
  }

  /** Waits until the server has sent `n` whole messages after the handshake byte; returns them. */
  async messages(n: number, afterHandshake = true): Promise<Buffer[]> {
    let msgs: Buffer[] = [];
    await this.until(() => (msgs = splitMessages(this.bytes.subarray(afterHandshake ? 1 : 0))).length >= n);
    return msgs;
  }

  /** Waits until pred holds (checked on each chunk); rejects if the socket closes first. */
  until(pred: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pred()) { resolve(); return; }
        if (this.socket.destroyed) { reject(new Error('socket closed')); return; }
        this.waiters.push(check);
      };
      check();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  destroy(): void { this.socket.destroy(); }
}

/** Splits bytes into whole little-endian IPC messages by their length field (a partial tail is dropped). */
export function splitMessages(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 8 <= b.length) {
    const n = b.readUInt32LE(at + 4);
    if (n < 8 || at + n > b.length) break;
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** node-q's reading of one whole message: an Error for a q error (-128), else the value. */
export function readWithNodeQ(msg: Buffer): unknown {
  try {
    return nodeqCodec.deserialize(msg);
  } catch (err) {
    return err;
  }
}

/** Resolves when pred holds; rejects after timeoutMs naming what it waited for (helpers/tp.ts's until). */
export const eventually = (pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> => until(pred, timeoutMs, what);

/** Warn/error lines (pino levels ≥ 40) written for one handle. */
export function offences(sink: LogSink, h: number, from = 0): Array<Record<string, unknown>> {
  return sink.lines.slice(from).filter((l) => l['h'] === h && Number(l['level']) >= 40);
}

/** node-q connected with any of its parameters (host 127.0.0.1 unless given), closed in t.teardown. */
export function connectQ(t: Test, params: Record<string, unknown>): Promise<QClient> {
  return new Promise((resolve, reject) => {
    nodeq.connect({ host: '127.0.0.1', socketNoDelay: true, ...params }, (err, con) => {
      if (err) { reject(err); return; }
      const c = new QClient(con);
      t.teardown(() => c.close());
      resolve(c);
    });
  });
}

/** The socket inside a node-q connection (to count the bytes it wrote). */
export const socketOf = (c: QClient): net.Socket => (c.con as unknown as { socket: net.Socket }).socket;

export { LogSink };
