// kdb+ over WebSocket on the IPC port, as q serves it (code.kx.com/q/basics/websockets): a connection
// whose first bytes are `GET ` is an HTTP request; an RFC 6455 upgrade turns it into a WebSocket whose
// binary frames are kdb+ IPC messages, one message per frame, with the usual sync/async semantics. The
// credentials of the upgrade (HTTP Basic, as q checks them against -u) replace the kdb+ handshake.
// The WebSocket is then handed to Connection as a Transport, so everything after (limits, whitelist,
// replies in order, .u.sub pushes) is the same code as for TCP.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { Clock, Timer } from '../clock.js';
import type { Authenticator } from './auth.js';
import type { Limits } from './limits.js';
import type { Transport } from './transport.js';

/** What an upgrade needs from the server: credentials, limits, and who to give the open WebSocket to. */
export interface WebSocketUpgradeOptions {
  readonly auth: Authenticator;
  readonly limits: Limits;
  readonly log: Logger;
  readonly clock: Clock;
  /** Browser origins allowed (protects browser users from other sites' pages); absent: any, as q. */
  readonly acceptOrigin?: ((origin: string | undefined, host: string | undefined) => boolean) | undefined;
  readonly opened: (transport: WebSocketTransport, user: string, raw: Socket) => void;
}

const GET = Buffer.from('GET ');

/**
 * Reads the first bytes of a new TCP connection: resolves 'http' when they are `GET `, 'ipc' otherwise.
 * The bytes read are put back (unshift) and the socket is left paused for whoever takes it next.
 */
export function sniff(socket: Socket, done: (kind: 'http' | 'ipc') => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, GET.length);
    const prefix = seen.subarray(0, n).equals(GET.subarray(0, n));
    if (prefix && seen.length < GET.length) return; // "GE": wait for the rest
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    socket.unshift(seen);
    done(prefix ? 'http' : 'ipc');
  };
  const onClose = (): void => { socket.off('data', onData); };
  socket.on('data', onData);
  socket.once('close', onClose);
}

/** Parses the HTTP request of sniffed sockets and upgrades those that ask for a WebSocket. */
export class WebSocketUpgrader {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  /** Sockets between `GET ` and the end of the upgrade: each has until handshakeTimeoutMs. */
  private readonly timers = new WeakMap<object, Timer>();

  constructor(private readonly o: WebSocketUpgradeOptions) {
    this.http = createServer({ maxHeaderSize: 16 * 1024 });
    this.http.headersTimeout = o.limits.handshakeTimeoutMs;
    this.http.requestTimeout = o.limits.handshakeTimeoutMs;
    // A plain GET on the IPC port is not served: only upgrades are.
    this.http.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', upgrade: 'websocket' });
      res.end('kdb+ IPC port: connect with kdb+ IPC or a WebSocket\n');
    });
    this.http.on('clientError', (err, socket) => {
      this.o.log.info({ err: err.message }, 'websocket upgrade request rejected');
      socket.destroy();
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.wss = new WebSocketServer({
      noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: o.limits.maxMessageBytes,
    });
  }

  /** A sniffed socket whose first bytes are `GET `: its request is parsed from the bytes put back. */
  take(socket: Socket): void {
    const timer = this.o.clock.after(this.o.limits.handshakeTimeoutMs, () => {
      this.o.log.warn({ remote: socket.remoteAddress }, 'websocket upgrade timeout');
      socket.destroy();
    });
    this.timers.set(socket, timer);
    socket.once('close', () => timer.cancel());
    this.http.emit('connection', socket);
    socket.resume();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.timers.get(req.socket)?.cancel();
    const remote = req.socket.remoteAddress;
    if (this.o.acceptOrigin && !this.o.acceptOrigin(req.headers.origin, req.headers.host)) {
      this.o.log.info({ origin: req.headers.origin, remote }, 'websocket origin rejected');
      refuse(socket, 403, 'Forbidden');
      return;
    }
    const { user, password } = basicCredentials(req.headers.authorization);
    if (!this.o.auth.check(user, password)) {
      // q answers 401 when -u refuses the upgrade's credentials; never log the password.
      this.o.log.warn({ user, remote }, 'access denied');
      refuse(socket, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="kdb+"' });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.o.opened(new WebSocketTransport(ws, req.socket as Socket, this.o.log), user, req.socket as Socket);
    });
  }

  close(): void {
    this.wss.close();
    this.http.close();
  }
}

/** user:password of an `Authorization: Basic` header; none given is the empty user, as q's handshake. */
function basicCredentials(header: string | undefined): { user: string; password: string } {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return { user: '', password: '' };
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? { user: text, password: '' } : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function refuse(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`);
}

/**
 * A WebSocket seen as the byte stream Connection reads and writes: each binary frame in is one kdb+
 * message (checked against its own length header, so frames never merge or split messages); each write
 * out is one message and leaves as one binary frame. Back-pressure is the raw socket's.
 */
export class WebSocketTransport extends EventEmitter implements Transport {
  private ended = false;

  constructor(readonly ws: WebSocket, private readonly raw: Socket, private readonly log: Logger) {
    super();
    ws.on('message', (data: RawData, isBinary: boolean) => this.frame(data, isBinary));
    ws.on('error', (err: Error) => this.emit('error', err));
    ws.on('close', () => this.emit('close'));
    raw.on('drain', () => this.emit('drain'));
  }

  get remoteAddress(): string | undefined { return this.raw.remoteAddress; }
  get remotePort(): number | undefined { return this.raw.remotePort; }
  get writableLength(): number { return this.raw.writableLength; }
  get writableNeedDrain(): boolean { return this.raw.writableNeedDrain; }
  get destroyed(): boolean { return this.ended || this.raw.destroyed; }
  get bytesRead(): number { return this.raw.bytesRead; }
  get bytesWritten(): number { return this.raw.bytesWritten; }

  private frame(data: RawData, isBinary: boolean): void {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const length = bytes.length < 8 ? -1 : bytes[0] === 0 ? bytes.readUInt32BE(4) : bytes.readUInt32LE(4);
    if (!isBinary || length !== bytes.length) {
      // Text, or a frame that is not exactly one kdb+ message: the stream cannot be trusted further.
      this.log.warn({ bytes: bytes.length, binary: isBinary }, 'websocket frame is not one kdb+ message');
      this.ws.close(1003, 'one kdb+ IPC message per binary frame');
      return;
    }
    this.emit('data', bytes);
  }

  setNoDelay(): this { this.raw.setNoDelay(true); return this; }
  write(chunk: Buffer): boolean {
    if (this.ended) return false;
    this.ws.send(chunk, { binary: true });
    return !this.raw.writableNeedDrain;
  }
  cork(): void { this.raw.cork(); }
  uncork(): void { this.raw.uncork(); }
  pause(): this { this.ws.pause(); return this; }
  resume(): this { this.ws.resume(); return this; }

  end(): this {
    if (!this.ended) { this.ended = true; this.ws.close(1000); }
    return this;
  }

  destroy(): this {
    this.ended = true;
    this.ws.terminate();
    return this;
  }
}
