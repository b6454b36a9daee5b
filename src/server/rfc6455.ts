// RFC 6455 WebSockets without a library, for both of the tickerplant's WebSocket protocols: kdb+ messages on
// the IPC port (websocket.ts) and the JSON gateway (src/ws/gateway.ts). The upgrade handshake (§4.2), the
// frame reader (§5.2: masks, lengths, fragmentation, control frames, the close handshake) and the writer
// live here; what a data message means is the subclass's. Nothing is buffered here beyond a frame header
// (≤ 14 bytes) and one control frame (≤ 125 bytes), and no message longer than the caller's maximum is read.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** §4.2.1: why `req` is not a WebSocket upgrade request (GET, websocket, version 13, a 16-byte key), or undefined. */
export function upgradeProblem(req: IncomingMessage): string | undefined {
  const key = req.headers['sec-websocket-key'];
  return req.method !== 'GET' ? 'method is not GET'
    : (req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ? 'Upgrade is not websocket'
      : req.headers['sec-websocket-version'] !== '13' ? 'Sec-WebSocket-Version is not 13'
        : key === undefined || !/^[A-Za-z0-9+/]{22}==$/.test(key) ? 'Sec-WebSocket-Key missing or malformed'
          : undefined;
}

/** The subprotocols the client offered (Sec-WebSocket-Protocol). */
export function offeredProtocols(req: IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/** §4.2.2: the 101 answer to a request upgradeProblem accepted, naming `protocol` when the client offered it. */
export function switchProtocols(socket: Duplex, req: IncomingMessage, protocol: string): void {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] ?? ''}${ACCEPT_GUID}`).digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n` +
    (offeredProtocols(req).includes(protocol) ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') + '\r\n');
}

/** Answers an upgrade request with a plain HTTP error and closes the socket once it is written. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}, body = ''): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const type = body === '' ? '' : 'Content-Type: text/plain; charset=utf-8\r\n';
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${extra}${type}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/**
 * user:password of `Authorization: Basic` (RFC 7617), else of an `auth.<base64url(user:password)>`
 * subprotocol (a browser cannot set Authorization on a WebSocket); undefined when neither is given.
 * Text without a colon is a user with an empty password, as in a kdb+ handshake.
 */
export function upgradeCredentials(authorization: string | undefined, offered: readonly string[]): { user: string; password: string } | undefined {
  let text: string | undefined;
  if (authorization !== undefined) {
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (!basic) return undefined;
    text = Buffer.from(basic[1] as string, 'base64').toString('utf8');
  } else {
    const token = offered.find((p) => p.startsWith(AUTH_PREFIX) && /^[A-Za-z0-9_-]+$/.test(p.slice(AUTH_PREFIX.length)));
    if (token === undefined) return undefined;
    text = Buffer.from(token.slice(AUTH_PREFIX.length), 'base64url').toString('utf8');
  }
  const colon = text.indexOf(':');
  return colon < 0 ? { user: text, password: '' } : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Prefix of the subprotocol that carries credentials. */
export const AUTH_PREFIX = 'auth.';

const readWord = endianness() === 'LE' ? 'readUInt32LE' : 'readUInt32BE';

/**
 * XORs `p` with the mask key in place (§5.3), starting at key byte `at`: 4 bytes a step where aligned
 * (about 5x faster than byte by byte, which would cost a second per 256 MiB message).
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

/** §5.2 opcodes. */
export const enum Op { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 }

/** §7.4.1 close codes used here; 1006 is never sent, only reported for a connection that ended without one. */
export const enum CloseCode {
  Normal = 1000, GoingAway = 1001, Protocol = 1002, Unsupported = 1003, Abnormal = 1006, BadData = 1007,
  Policy = 1008, TooBig = 1009,
}

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

/** Close codes a peer may send (§7.4.1, §7.4.2): 1004-1006 and 1015 are never on the wire. */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * One server-side WebSocket over a socket whose 101 has been sent. Reads frames as they arrive, checks
 * them, answers pings and the close handshake, and hands data-frame payload (unmasked, in place) to the
 * subclass. Events: 'error' (err), 'close' (the peer's close code, 1006 without one), 'pong'.
 */
export abstract class WebSocketFrames extends EventEmitter {
  /** The frame header being read: 2 bytes, the extended length (2 or 8) and the mask key (4). */
  private readonly head = Buffer.alloc(14);
  private headFilled = 0;
  private inFrame = false;
  /** FIN of the frame being read. */
  protected fin = false;
  private op: Op = Op.Binary;
  /** Text or Binary: the opcode of the message being read, across its continuation frames. */
  protected messageOp: Op = Op.Binary;
  private readonly mask = Buffer.alloc(4);
  /** Position in the mask key of the next payload byte (payload byte i is XORed with mask[i % 4]). */
  private maskAt = 0;
  private payloadLeft = 0;
  /** A data message has begun and not ended (fragmented: continuation frames follow). */
  private inMessage = false;
  /** Payload bytes the current message's frames have declared so far. */
  protected messageDeclared = 0;
  private control: Buffer | undefined;
  private controlFilled = 0;
  /** Stop reading: after a violation, or a close from the peer. */
  private stopped = false;
  private closeSent = false;
  private closeCode: number = CloseCode.Normal;
  private closeText = '';
  private peerCode: number = CloseCode.Abnormal;
  /** Latest ping not answered yet because the socket was full (§5.5.3: only the latest is owed). */
  private pendingPong: Buffer | undefined;
  /** Paused by the reader's owner (a request still being answered). */
  private paused = false;
  /** Completions of writes not sent (after the close frame): run at the socket's close, after what was sent. */
  private readonly unsent: Array<(err?: Error | null) => void> = [];

  constructor(protected readonly raw: Socket, private readonly maxMessageBytes: number, private readonly clock: Clock) {
    super();
    raw.on('error', (err: Error) => this.emit('error', err));
    raw.on('close', () => {
      for (const done of this.unsent.splice(0)) done();
      this.emit('close', this.peerCode);
    });
    raw.on('drain', () => {
      const pong = this.pendingPong;
      this.pendingPong = undefined;
      if (pong !== undefined) this.sendFrame(Op.Pong, pong);
      this.emit('drain');
    });
  }

  /** A Text or Binary message starts: false after refusing it with fail(). */
  protected abstract startMessage(op: Op): boolean;
  /** Called when a frame's length is added to messageDeclared: false after refusing it with fail(). */
  protected checkDeclared(): boolean { return true; }
  /** Unmasked payload of the current message, as it arrives (valid until this call returns only if kept). */
  protected abstract payload(chunk: Buffer): void;
  /** The message's final frame has ended. */
  protected abstract endMessage(): void;
  /** A violation is about to close the connection with `code` (a log line is the owner's). */
  protected violation(_message: string, _detail: Record<string, number>): void {}

  /** Starts reading: the bytes that came with the upgrade request first. */
  start(head: Buffer): void {
    if (head.length > 0) this.read(head);
    this.raw.on('data', (chunk: Buffer) => this.read(chunk));
    // The peer's FIN without a Close frame (§7.1.5: 1006): the connection is gone. Node's HTTP server
    // leaves upgraded sockets half open, so without this the client stays subscribed (and a payment
    // credited to it) until a heartbeat ends it.
    this.raw.once('end', () => { if (!this.raw.destroyed) this.raw.destroy(); });
    if (!this.paused) this.raw.resume();
  }

  get remoteAddress(): string | undefined { return this.raw.remoteAddress; }
  get remotePort(): number | undefined { return this.raw.remotePort; }
  get writableLength(): number { return this.raw.writableLength; }
  get writableNeedDrain(): boolean { return this.raw.writableNeedDrain; }
  get destroyed(): boolean { return this.raw.destroyed; }
  get bytesWritten(): number { return this.raw.bytesWritten; }
  /** Neither closing nor closed: messages written now are sent. */
  get open(): boolean { return !this.closeSent && !this.raw.destroyed; }

  /** Stops reading and closes with `code` and a reason for the peer. */
  protected fail(code: CloseCode, message: string, detail: Record<string, number> = {}): false {
    if (this.stopped) return false;
    this.stopped = true;
    this.closeCode = code;
    this.closeText = message;
    this.violation(message, { wsClose: code, ...detail });
    this.end();
    return false;
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
      if (this.op >= Op.Close) this.controlFilled += payload.copy(this.control as Buffer, this.controlFilled);
      else this.payload(payload);
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
    if ((b0 & 0x70) !== 0) return this.fail(CloseCode.Protocol, 'websocket frame has reserved bits set');
    // §5.1: a client masks every frame; a server closes on an unmasked one.
    if ((b1 & 0x80) === 0) return this.fail(CloseCode.Protocol, 'websocket client frame is not masked');
    if (op === Op.Close || op === Op.Ping || op === Op.Pong) {
      // §5.5: control frames are never fragmented and carry at most 125 bytes.
      if (!this.fin || (b1 & 0x7f) > 125) return this.fail(CloseCode.Protocol, 'websocket control frame fragmented or too long');
      return true;
    }
    if (op === Op.Text || op === Op.Binary) {
      if (this.inMessage) return this.fail(CloseCode.Protocol, 'websocket message started inside a fragmented one');
      this.inMessage = true;
      this.messageOp = op;
      this.messageDeclared = 0;
      return this.startMessage(op);
    }
    if (op === Op.Continuation) {
      if (!this.inMessage) return this.fail(CloseCode.Protocol, 'websocket continuation without a message');
      return true;
    }
    return this.fail(CloseCode.Protocol, 'websocket frame has an unknown opcode', { opcode: op });
  }

  /** The frame's length is known: checked against the limits before any of its payload is kept. */
  private startFrame(length: number): boolean {
    if (this.op >= Op.Close) {
      this.control = Buffer.alloc(length);
      this.controlFilled = 0;
      return true;
    }
    const declared = this.messageDeclared + length;
    // The caller's maximum (--max-message-bytes, the gateway's maxPayload), over a fragmented message's sum.
    if (declared > this.maxMessageBytes) {
      return this.fail(CloseCode.TooBig, 'websocket message too large', { length: declared, max: this.maxMessageBytes });
    }
    this.messageDeclared = declared;
    return this.checkDeclared();
  }

  private endFrame(): void {
    this.inFrame = false;
    if (this.op < Op.Close) {
      if (!this.fin) return;
      this.inMessage = false;
      this.endMessage();
      return;
    }
    const body = (this.control as Buffer).subarray(0, this.controlFilled);
    this.control = undefined;
    if (this.op === Op.Ping) {
      if (this.raw.writableNeedDrain) this.pendingPong = Buffer.from(body);
      else this.sendFrame(Op.Pong, body);
    } else if (this.op === Op.Pong) {
      this.emit('pong');
    } else {
      // §5.5.1: answer with a close (echoing the code) and end; the peer's TCP close follows.
      const code = body.length >= 2 ? body.readUInt16BE(0) : CloseCode.Normal;
      if (body.length === 1 || !validCloseCode(code)) { this.fail(CloseCode.Protocol, 'websocket close frame malformed'); return; }
      this.stopped = true;
      this.peerCode = code;
      this.closeCode = code;
      this.end();
    }
  }

  /**
   * One whole frame out; nothing once the close frame has gone. `done` runs once the frame has left the
   * socket (or, not sent, on the next tick): a writer of shared bytes lets go of them then.
   */
  protected sendFrame(op: Op, body: Buffer, done?: (err?: Error | null) => void): void {
    if (this.closeSent || this.raw.destroyed || !this.raw.writable) { if (done) this.notSent(done); return; }
    this.raw.cork(); // header and body in one writev
    this.raw.write(frameHeader(op, body.length), body.length > 0 ? undefined : done);
    if (body.length > 0) this.raw.write(body, done);
    this.raw.uncork();
  }

  /**
   * A write not sent still completes, but never before the writes sent ahead of it (their bytes may be
   * shared memory a completion lets go of): at the socket's close, or at once if it is gone.
   */
  protected notSent(done: (err?: Error | null) => void): void {
    if (this.raw.destroyed) process.nextTick(done);
    else this.unsent.push(done);
  }

  ping(): void { this.sendFrame(Op.Ping, Buffer.alloc(0)); }

  setNoDelay(): this { this.raw.setNoDelay(true); return this; }
  cork(): void { this.raw.cork(); }
  uncork(): void { this.raw.uncork(); }
  pause(): this { this.paused = true; this.raw.pause(); return this; }
  resume(): this { this.paused = false; this.raw.resume(); return this; }

  /** Closes with `code` and `reason` (sent to the peer): the close handshake, then the TCP end. */
  close(code: number, reason: string): void {
    if (this.closeSent) return;
    this.stopped = true;
    this.closeCode = code;
    this.closeText = reason;
    this.end();
  }

  /**
   * Sends the close frame (the violation's code, or 1000) once, then ends the TCP stream; a peer that
   * does not close its side within CLOSE_GRACE_MS is cut off (§7.1.1: the server closes first).
   */
  end(): this {
    if (!this.closeSent) {
      this.clock.after(CLOSE_GRACE_MS, () => this.raw.destroy()).unref();
      const text = Buffer.from(this.closeText.slice(0, 120), 'utf8');
      const body = Buffer.alloc(2 + text.length);
      body.writeUInt16BE(this.closeCode, 0);
      text.copy(body, 2);
      this.sendFrame(Op.Close, body);
      this.closeSent = true;
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
