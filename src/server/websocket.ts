// kdb+ over WebSocket on the IPC port, as q serves it (code.kx.com/q/basics/websockets): a connection
// whose first bytes are `GET ` is an HTTP request; an RFC 6455 upgrade turns it into a WebSocket whose
// binary messages are kdb+ IPC messages, one kdb+ message per WebSocket message, with the usual
// sync/async meaning. The upgrade's credentials (HTTP Basic, checked against -u as q does) replace the
// kdb+ handshake.
//
// The framing is our own (rfc6455.ts), not a library's, so that a WebSocket is bound by exactly the limits
// of a plain TCP connection: the payload of each data frame is unmasked in place and handed on as it
// arrives to the same Connection and Framer (src/server/connection.ts) that read TCP. A partial message is
// held, and counted in the inbound budget and the minimum-progress check, by the Framer, as on TCP.
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import type { Authenticator } from './auth.js';
import type { Limits } from './limits.js';
import { CloseCode, Op, WebSocketFrames, offeredProtocols, refuseUpgrade, switchProtocols, upgradeCredentials, upgradeProblem } from './rfc6455.js';
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
    const bad = upgradeProblem(req);
    if (bad !== undefined) {
      this.o.log.info({ peer, status: 400, why: bad }, 'websocket upgrade refused');
      refuseUpgrade(socket, 400, 'Bad Request', { 'Sec-WebSocket-Version': '13' });
      return;
    }
    if (this.o.acceptOrigin && !this.o.acceptOrigin(req.headers.origin, req.headers.host)) {
      this.o.log.info({ peer, status: 403, origin: req.headers.origin }, 'websocket upgrade refused');
      refuseUpgrade(socket, 403, 'Forbidden');
      return;
    }
    // No credentials is the empty user, as a kdb+ handshake without them.
    const { user, password } = upgradeCredentials(req.headers.authorization, offeredProtocols(req)) ?? { user: '', password: '' };
    if (!this.o.auth.check(user, password)) {
      // q answers 401 when -u refuses the upgrade's credentials; never log the password.
      this.o.log.warn({ user, peer }, 'access denied');
      refuseUpgrade(socket, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="kdb+"' });
      return;
    }
    switchProtocols(socket, req, KDB_PROTOCOL);
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
 * A WebSocket seen as the byte stream Connection reads and writes. In: the payload of binary messages,
 * unmasked, in the order it arrives, each WebSocket message checked to carry exactly one kdb+ message
 * (its length against the kdb+ header's, before its bytes are passed on). Out: each kdb+ message written
 * leaves as one binary frame. Pings are answered, a close is answered and ends the connection.
 * Back-pressure and queued bytes are the raw socket's.
 */
export class WebSocketTransport extends WebSocketFrames implements Transport {
  /** The first 8 payload bytes of the current message: its kdb+ header, whose length it must match. */
  private readonly kdbHeader = Buffer.alloc(8);
  private kdbFilled = 0;
  private delivered = 0;
  private report: ViolationReport | undefined;

  /** kdb+ message bytes received (frame headers and control frames not counted): what minimum progress measures. */
  get bytesRead(): number { return this.delivered; }

  violations(report: ViolationReport): void { this.report = report; }

  /** The Connection logs the one line and ends the transport. */
  protected override violation(message: string, detail: Record<string, number>): void { this.report?.(message, detail); }

  protected startMessage(op: Op): boolean {
    // kdb+ messages are binary; q reads text frames as q expressions, which are never evaluated here.
    if (op === Op.Text) return this.fail(CloseCode.Unsupported, 'websocket text frame refused');
    this.kdbFilled = 0;
    return true;
  }

  protected override checkDeclared(): boolean {
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
      return this.fail(CloseCode.Unsupported, 'websocket message is not one kdb+ message',
        { declared: this.messageDeclared, kdbLength: length, final: this.fin ? 1 : 0 });
    }
    return true;
  }

  /** Payload of a binary message: passed on as it arrives, once its kdb+ header agrees with the frames. */
  protected payload(chunk: Buffer): void {
    if (this.kdbFilled < 8) {
      this.kdbFilled += chunk.copy(this.kdbHeader, this.kdbFilled);
      if (this.kdbFilled === 8 && !this.matchesKdbLength()) return;
    }
    this.delivered += chunk.length;
    this.emit('data', chunk);
  }

  protected endMessage(): void {
    if (this.kdbFilled < 8) this.fail(CloseCode.Unsupported, 'websocket message is not one kdb+ message', { declared: this.messageDeclared });
  }

  /** `chunk` is one or more whole kdb+ messages (Connection joins adjacent ones): one binary frame each. */
  write(chunk: Buffer, done?: (err?: Error | null) => void): boolean {
    if (!this.open) { if (done) this.notSent(done); return false; }
    let at = 0;
    while (at < chunk.length) {
      let n = chunk.length - at;
      if (n >= 8) {
        const length = chunk[at] === 0 ? chunk.readUInt32BE(at + 4) : chunk.readUInt32LE(at + 4);
        if (length >= 8 && length <= n) n = length;
      }
      this.sendFrame(Op.Binary, chunk.subarray(at, at + n), at + n === chunk.length ? done : undefined);
      at += n;
    }
    return !this.raw.writableNeedDrain;
  }
}
