// kdb+ over WebSocket on the IPC port, as q serves it (code.kx.com/q/basics/websockets): a connection
// whose first bytes are `GET ` is an HTTP request; an RFC 6455 upgrade turns it into a WebSocket whose
// binary messages are kdb+ IPC messages, one kdb+ message per WebSocket message, with the usual
// sync/async meaning. The upgrade's credentials (HTTP Basic, checked against -u as q does) replace the
// kdb+ handshake.
//
// The framing is done here, not by a library, so that a WebSocket is bound by exactly the limits of a
// plain TCP connection: the payload of each data frame is unmasked in place and handed on as it arrives
// to the same Connection and Framer (src/server/connection.ts) that read TCP. Nothing is buffered here
// beyond a frame header (≤ 14 bytes) and one control frame (≤ 125 bytes): a partial message is held, and
// counted in the inbound budget and the minimum-progress check, by the Framer, as on TCP.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { endianness } from 'node:os';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import type { Authenticator } from './auth.js';
import type { Limits } from './limits.js';
import type { Transport, ViolationReport } from './transport.js';

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

/**
 * The subprotocol answered when offered: a browser cannot set Authorization on a WebSocket, so it may
 * send its credentials as `auth.<base64url(user:password)>` beside it (as the /ws gateway accepts them).
 */
export const KDB_PROTOCOL = 'kdb';
const AUTH_PREFIX = 'auth.';
/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
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
  /** Sockets between `GET ` and the end of the upgrade: each has until handshakeTimeoutMs. */
  private readonly timers = new WeakMap<object, Timer>();

  constructor(private readonly o: WebSocketUpgradeOptions) {
    // The request line and headers are bounded (16 KiB) like a kdb+ handshake, and in time by take().
    this.http = createServer({ maxHeaderSize: 16 * 1024 });
    this.http.on('request', (req: IncomingMessage, res) => {
      // Not an upgrade: only WebSockets are served here. One that names websocket but lacks
      // `Connection: Upgrade` is a malformed upgrade (400); any other GET is told to upgrade (426).
      const malformed = req.headers.upgrade !== undefined;
      const status = malformed ? 400 : 426;
      this.o.log.info({ peer: peerOf(req.socket), status, why: malformed ? 'no Connection: Upgrade' : 'not an upgrade' },
        'websocket upgrade refused');
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8', connection: 'close', ...(malformed ? {} : { upgrade: 'websocket' }),
      });
      // Closed once answered (a peer that never closes its side must not keep the socket); the
      // handshake timer of take() stays armed for one that does not read the answer.
      res.once('finish', () => req.socket.destroy());
      res.end('kdb+ IPC port: connect with kdb+ IPC or a WebSocket\n');
    });
    this.http.on('clientError', (err: Error, socket: Duplex) => {
      this.o.log.info({ peer: peerOf(socket), status: 400, why: err.message }, 'websocket upgrade refused');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket as Socket, head));
  }

  /** A sniffed socket whose first bytes are `GET `: its request is parsed from the bytes put back. */
  take(socket: Socket): void {
    const timer = this.o.clock.after(this.o.limits.handshakeTimeoutMs, () => {
      this.o.log.warn({ peer: peerOf(socket) }, 'websocket upgrade timeout');
      socket.destroy();
    });
    this.timers.set(socket, timer);
    socket.once('close', () => timer.cancel());
    this.http.emit('connection', socket);
    socket.resume();
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    this.timers.get(socket)?.cancel();
    const peer = peerOf(socket);
    // RFC 6455 §4.2.1: a GET naming websocket, version 13, and a key that is 16 bytes in base64.
    const key = req.headers['sec-websocket-key'];
    const bad = req.method !== 'GET' ? 'method is not GET'
      : (req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ? 'Upgrade is not websocket'
        : req.headers['sec-websocket-version'] !== '13' ? 'Sec-WebSocket-Version is not 13'
          : key === undefined || !/^[A-Za-z0-9+/]{22}==$/.test(key) ? 'Sec-WebSocket-Key missing or malformed'
            : undefined;
    if (bad !== undefined || key === undefined) {
      this.o.log.info({ peer, status: 400, why: bad }, 'websocket upgrade refused');
      refuse(socket, 400, 'Bad Request', { 'Sec-WebSocket-Version': '13' });
      return;
    }
    if (this.o.acceptOrigin && !this.o.acceptOrigin(req.headers.origin, req.headers.host)) {
      this.o.log.info({ peer, status: 403, origin: req.headers.origin }, 'websocket upgrade refused');
      refuse(socket, 403, 'Forbidden');
      return;
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const { user, password } = credentials(req.headers.authorization, offered);
    if (!this.o.auth.check(user, password)) {
      // q answers 401 when -u refuses the upgrade's credentials; never log the password.
      this.o.log.warn({ user, peer }, 'access denied');
      refuse(socket, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="kdb+"' });
      return;
    }
    const accept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      (offered.includes(KDB_PROTOCOL) ? `Sec-WebSocket-Protocol: ${KDB_PROTOCOL}\r\n` : '') + '\r\n');
    const transport = new WebSocketTransport(socket, this.o.limits.maxMessageBytes, this.o.clock);
    this.o.opened(transport, user, socket);
    transport.start(head);
  }

  close(): void {
    this.http.close();
  }
}

function peerOf(socket: Duplex): string {
  const s = socket as Partial<Socket>;
  return `${s.remoteAddress ?? ''}:${s.remotePort ?? 0}`;
}

/**
 * user:password of `Authorization: Basic` (RFC 7617), else of an `auth.<base64url>` subprotocol; none
 * given is the empty user, as a kdb+ handshake without credentials.
 */
function credentials(header: string | undefined, offered: string[]): { user: string; password: string } {
  let text: string | undefined;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (basic) text = Buffer.from(basic[1] as string, 'base64').toString('utf8');
  else {
    const token = offered.find((p) => p.startsWith(AUTH_PREFIX) && /^[A-Za-z0-9_-]+$/.test(p.slice(AUTH_PREFIX.length)));
    if (token !== undefined) text = Buffer.from(token.slice(AUTH_PREFIX.length), 'base64url').toString('utf8');
  }
  if (text === undefined) return { user: '', password: '' };
  const colon = text.indexOf(':');
  return colon < 0 ? { user: text, password: '' } : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function refuse(socket: Socket, status: number, reason: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`);
}

const readWord = endianness() === 'LE' ? 'readUInt32LE' : 'readUInt32BE';

/**
 * XORs `p` with the mask key in place (RFC 6455 §5.3), starting at key byte `at`: 4 bytes a step where
 * aligned (about 5x faster than byte by byte, which would cost a second per 256 MiB message).
 */
function unmask(p: Buffer, mask: Buffer, at: number): void {
  const n = p.length;
  let i = 0;
  for (; i < n && ((p.byteOffset + i) & 3) !== 0; i++) p[i] = (p[i] as number) ^ (mask[(at + i) & 3] as number);
  const words = (n - i) >>> 2;
  if (words > 0) {
    const r = (at + i) & 3;
    const key = Buffer.from([mask[r] as number, mask[(r + 1) & 3] as number, mask[(r + 2) & 3] as number, mask[(r + 3) & 3] as number])[readWord](0);
    const w = new Uint32Array(p.buffer, p.byteOffset + i, words);
    for (let j = 0; j < words; j++) w[j] = (w[j] as number) ^ key;
    i += words * 4;
  }
  for (; i < n; i++) p[i] = (p[i] as number) ^ (mask[(at + i) & 3] as number);
}

/** How long a closing WebSocket waits for the peer's TCP close after the close frame. */
const CLOSE_GRACE_MS = 1000;

/** RFC 6455 §5.2 opcodes. */
const enum Op { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 }

/** RFC 6455 §7.4.1 close codes used here. */
export const enum CloseCode { Normal = 1000, Protocol = 1002, Unsupported = 1003, TooBig = 1009 }

/** The header of one server frame: FIN, the opcode, and the payload length (servers never mask). */
function frameHeader(op: Op, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | op, length]);
  if (length < 65536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = 0x80 | op; h[1] = 126; h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x80 | op; h[1] = 127; h.writeUInt32BE(Math.floor(length / 2 ** 32), 2); h.writeUInt32BE(length >>> 0, 6);
  return h;
}

/** Close codes a peer may send (RFC 6455 §7.4.1, §7.4.2): 1004-1006 and 1015 are never on the wire. */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * A WebSocket seen as the byte stream Connection reads and writes. In: the payload of binary messages,
 * unmasked, in the order it arrives, each WebSocket message checked to carry exactly one kdb+ message
 * (its length against the kdb+ header's, before its bytes are passed on). Out: each kdb+ message written
 * leaves as one binary frame. Pings are answered, a close is answered and ends the connection.
 * Back-pressure and queued bytes are the raw socket's.
 */
export class WebSocketTransport extends EventEmitter implements Transport {
  /** The frame header being read: 2 bytes, the extended length (2 or 8) and the mask key (4). */
  private readonly head = Buffer.alloc(14);
  private headFilled = 0;
  private inFrame = false;
  private fin = false;
  private op: Op = Op.Binary;
  private readonly mask = Buffer.alloc(4);
  /** Position in the mask key of the next payload byte (payload byte i is XORed with mask[i % 4]). */
  private maskAt = 0;
  private payloadLeft = 0;
  /** A binary message has begun and not ended (fragmented: continuation frames follow). */
  private inMessage = false;
  /** Payload bytes the current message's frames have declared so far. */
  private messageDeclared = 0;
  /** The first 8 payload bytes of the current message: its kdb+ header, whose length it must match. */
  private readonly kdbHeader = Buffer.alloc(8);
  private kdbFilled = 0;
  private control: Buffer | undefined;
  private controlFilled = 0;
  /** Stop reading: after a violation, or a close from the peer. */
  private stopped = false;
  private closeSent = false;
  private closeCode: CloseCode = CloseCode.Normal;
  private closeText = '';
  /** Latest ping not answered yet because the socket was full (RFC 6455 §5.5.3: only the latest is owed). */
  private pendingPong: Buffer | undefined;
  private delivered = 0;
  private report: ViolationReport | undefined;
  /** Paused by the Connection (a request still being answered). */
  private paused = false;

  constructor(private readonly raw: Socket, private readonly maxMessageBytes: number, private readonly clock: Clock) {
    super();
    raw.on('error', (err: Error) => this.emit('error', err));
    raw.on('close', () => this.emit('close'));
    raw.on('drain', () => {
      const pong = this.pendingPong;
      this.pendingPong = undefined;
      if (pong !== undefined) this.control0(Op.Pong, pong);
      this.emit('drain');
    });
  }

  /** Starts reading: the bytes that came with the upgrade request first. */
  start(head: Buffer): void {
    if (head.length > 0) this.read(head);
    this.raw.on('data', (chunk: Buffer) => this.read(chunk));
    if (!this.paused) this.raw.resume();
  }

  get remoteAddress(): string | undefined { return this.raw.remoteAddress; }
  get remotePort(): number | undefined { return this.raw.remotePort; }
  get writableLength(): number { return this.raw.writableLength; }
  get writableNeedDrain(): boolean { return this.raw.writableNeedDrain; }
  get destroyed(): boolean { return this.raw.destroyed; }
  /** kdb+ message bytes received (frame headers and control frames not counted): what minimum progress measures. */
  get bytesRead(): number { return this.delivered; }
  get bytesWritten(): number { return this.raw.bytesWritten; }

  violations(report: ViolationReport): void { this.report = report; }

  /** Stops reading and closes with `code`: the Connection logs the one line and ends the transport. */
  private fail(code: CloseCode, message: string, detail: Record<string, number> = {}): void {
    if (this.stopped) return;
    this.stopped = true;
    this.closeCode = code;
    this.closeText = message;
    if (this.report) this.report(message, { wsClose: code, ...detail });
    this.end();
  }

  private read(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.stopped) {
      if (!this.inFrame) { at = this.readHeader(chunk, at); continue; }
      const n = Math.min(this.payloadLeft, chunk.length - at);
      const payload = chunk.subarray(at, at + n);
      at += n;
      this.payloadLeft -= n;
      unmask(payload, this.mask, this.maskAt);
      this.maskAt = (this.maskAt + n) & 3;
      if (this.op >= Op.Close) {
        this.controlFilled += payload.copy(this.control as Buffer, this.controlFilled);
      } else {
        this.deliver(payload);
      }
      if (this.payloadLeft === 0 && !this.stopped) this.endFrame();
    }
  }

  /** Reads header bytes from `at`; once whole, checks them and starts the frame. Returns the new offset. */
  private readHeader(chunk: Buffer, at: number): number {
    const h = this.head;
    if (this.headFilled < 2) {
      const take = Math.min(2 - this.headFilled, chunk.length - at);
      chunk.copy(h, this.headFilled, at, at + take);
      this.headFilled += take;
      at += take;
      if (this.headFilled < 2) return at;
      if (!this.checkFirstBytes()) return chunk.length;
    }
    const len7 = (h[1] as number) & 0x7f;
    const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + 4;
    const take = Math.min(need - this.headFilled, chunk.length - at);
    chunk.copy(h, this.headFilled, at, at + take);
    this.headFilled += take;
    at += take;
    if (this.headFilled < need) return at;
    this.headFilled = 0;
    let length = len7;
    if (len7 === 126) length = h.readUInt16BE(2);
    else if (len7 === 127) {
      const high = h.readUInt32BE(2);
      // §5.2: the most significant bit of a 64-bit length must be 0. Anything past 32 bits is over any limit.
      if (high >= 0x80000000) { this.fail(CloseCode.Protocol, 'websocket frame length has its top bit set'); return chunk.length; }
      length = high * 2 ** 32 + h.readUInt32BE(6);
    }
    if (!this.startFrame(length)) return chunk.length;
    h.copy(this.mask, 0, need - 4, need);
    this.maskAt = 0;
    this.payloadLeft = length;
    this.inFrame = true;
    if (length === 0) this.endFrame();
    return at;
  }

  /** FIN, RSV, opcode, MASK and 7-bit length: refused as soon as these two bytes are in. */
  private checkFirstBytes(): boolean {
    const b0 = this.head[0] as number;
    const b1 = this.head[1] as number;
    const op = b0 & 0x0f;
    this.fin = (b0 & 0x80) !== 0;
    this.op = op as Op;
    // §5.2: no extension was negotiated, so the RSV bits are 0.
    if ((b0 & 0x70) !== 0) return this.refuse(CloseCode.Protocol, 'websocket frame has reserved bits set');
    // §5.1: a client masks every frame; a server closes on an unmasked one.
    if ((b1 & 0x80) === 0) return this.refuse(CloseCode.Protocol, 'websocket client frame is not masked');
    if (op === Op.Text) {
      // kdb+ messages are binary; q reads text frames as q expressions, which are never evaluated here.
      return this.refuse(CloseCode.Unsupported, 'websocket text frame refused');
    }
    if (op === Op.Close || op === Op.Ping || op === Op.Pong) {
      // §5.5: control frames are never fragmented and carry at most 125 bytes.
      if (!this.fin || (b1 & 0x7f) > 125) return this.refuse(CloseCode.Protocol, 'websocket control frame fragmented or too long');
      return true;
    }
    if (op === Op.Binary) {
      if (this.inMessage) return this.refuse(CloseCode.Protocol, 'websocket message started inside a fragmented one');
      return true;
    }
    if (op === Op.Continuation) {
      if (!this.inMessage) return this.refuse(CloseCode.Protocol, 'websocket continuation without a message');
      return true;
    }
    return this.refuse(CloseCode.Protocol, 'websocket frame has an unknown opcode', { opcode: op });
  }

  private refuse(code: CloseCode, message: string, detail?: Record<string, number>): false {
    this.fail(code, message, detail);
    return false;
  }

  /** The frame's length is known: checked against the limits before any of its payload is kept. */
  private startFrame(length: number): boolean {
    if (this.op >= Op.Close) {
      this.control = Buffer.alloc(length);
      this.controlFilled = 0;
      return true;
    }
    if (this.op === Op.Binary) {
      this.inMessage = true;
      this.messageDeclared = 0;
      this.kdbFilled = 0;
    }
    const declared = this.messageDeclared + length;
    // The same limit as a kdb+ header's length (--max-message-bytes), over a fragmented message's sum.
    if (declared > this.maxMessageBytes) {
      return this.refuse(CloseCode.TooBig, 'websocket message too large', { length: declared, max: this.maxMessageBytes });
    }
    this.messageDeclared = declared;
    return this.kdbHeader.length > this.kdbFilled || this.matchesKdbLength();
  }

  /**
   * One WebSocket message is one kdb+ message (as q and c.js frame them): once the kdb+ header is in,
   * the frames declared so far must not exceed its length, and a final frame must end exactly at it.
   */
  private matchesKdbLength(): boolean {
    const h = this.kdbHeader;
    const length = h[0] === 0 ? h.readUInt32BE(4) : h.readUInt32LE(4);
    if (this.messageDeclared > length || (this.fin && this.messageDeclared !== length)) {
      return this.refuse(CloseCode.Unsupported, 'websocket message is not one kdb+ message',
        { declared: this.messageDeclared, kdbLength: length, final: this.fin ? 1 : 0 });
    }
    return true;
  }

  /** Payload of a binary message: passed on as it arrives, once its kdb+ header agrees with the frames. */
  private deliver(payload: Buffer): void {
    if (this.kdbFilled < 8) {
      this.kdbFilled += payload.copy(this.kdbHeader, this.kdbFilled);
      if (this.kdbFilled === 8 && !this.matchesKdbLength()) return;
    }
    this.delivered += payload.length;
    this.emit('data', payload);
  }

  private endFrame(): void {
    this.inFrame = false;
    if (this.op < Op.Close) {
      if (!this.fin) return;
      if (this.kdbFilled < 8) {
        this.fail(CloseCode.Unsupported, 'websocket message is not one kdb+ message', { declared: this.messageDeclared });
        return;
      }
      this.inMessage = false;
      return;
    }
    const body = (this.control as Buffer).subarray(0, this.controlFilled);
    this.control = undefined;
    if (this.op === Op.Ping) {
      if (this.raw.writableNeedDrain) this.pendingPong = Buffer.from(body);
      else this.control0(Op.Pong, body);
    } else if (this.op === Op.Close) {
      // §5.5.1: answer with a close (echoing the code) and end; the peer's TCP close follows.
      const code = body.length >= 2 ? body.readUInt16BE(0) : CloseCode.Normal;
      if (body.length === 1 || !validCloseCode(code)) { this.fail(CloseCode.Protocol, 'websocket close frame malformed'); return; }
      this.stopped = true;
      this.closeCode = code;
      this.end();
    }
    // A pong (unsolicited or not) needs nothing.
  }

  /** A control frame out (pong, close). */
  private control0(op: Op, body: Buffer): void {
    if (this.raw.destroyed || !this.raw.writable) return;
    this.raw.write(frameHeader(op, body.length));
    if (body.length > 0) this.raw.write(body);
  }

  setNoDelay(): this { this.raw.setNoDelay(true); return this; }

  /** `chunk` is one or more whole kdb+ messages (Connection joins adjacent ones): one binary frame each. */
  write(chunk: Buffer): boolean {
    if (this.closeSent || this.raw.destroyed) return false;
    let at = 0;
    while (at < chunk.length) {
      let n = chunk.length - at;
      if (n >= 8) {
        const length = chunk[at] === 0 ? chunk.readUInt32BE(at + 4) : chunk.readUInt32LE(at + 4);
        if (length >= 8 && length <= n) n = length;
      }
      this.raw.write(frameHeader(Op.Binary, n));
      this.raw.write(chunk.subarray(at, at + n));
      at += n;
    }
    return !this.raw.writableNeedDrain;
  }

  cork(): void { this.raw.cork(); }
  uncork(): void { this.raw.uncork(); }
  pause(): this { this.paused = true; this.raw.pause(); return this; }
  resume(): this { this.paused = false; this.raw.resume(); return this; }

  /**
   * Sends the close frame (the violation's code, or 1000) once, then ends the TCP stream; a peer that
   * does not close its side within CLOSE_GRACE_MS is cut off (RFC 6455 §7.1.1: the server closes first).
   */
  end(): this {
    if (!this.closeSent) {
      this.clock.after(CLOSE_GRACE_MS, () => this.raw.destroy()).unref();
      this.closeSent = true;
      const text = Buffer.from(this.closeText.slice(0, 120), 'utf8');
      const body = Buffer.alloc(2 + text.length);
      body.writeUInt16BE(this.closeCode, 0);
      text.copy(body, 2);
      this.control0(Op.Close, body);
    }
    this.stopped = true;
    this.raw.end();
    return this;
  }

  destroy(err?: Error): this {
    this.stopped = true;
    this.raw.destroy(err);
    return this;
  }
}
