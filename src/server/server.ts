// Listeners for q clients: TCP, unix domain socket (q's `:unix://PORT), and TLS, all feeding the same
// handle registry. Handles are small integers like q's .z.w. Spec: code.kx.com/q/basics/ipc.
// On TCP and TLS, as q, a connection that starts with `GET ` is a WebSocket upgrade (websocket.ts).
import { existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { addressBlock, PeerCount } from '../address.js';
import { LogRate } from '../log-rate.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { Authenticator } from './auth.js';
import { allowAll } from './auth.js';
import { Connection } from './connection.js';
import type { Handler, Preauthenticated } from './connection.js';
import { InboundBudget } from './inbound.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { Limits } from './limits.js';
import { sniff, WebSocketUpgrader } from './websocket.js';
import type { Transport } from './transport.js';

export interface ServerOptions {
  readonly handler: Handler;
  readonly log: Logger;
  readonly authenticator?: Authenticator;
  readonly limits?: Partial<Limits>;
  /** Timers (handshake timeout, minimum progress). [systemClock()] */
  readonly clock?: Clock;
  /** kdb+ over WebSocket on the TCP and TLS ports. [true] */
  readonly webSocket?: boolean;
  /** Browser origins allowed on the WebSocket upgrade; absent: any, as q. */
  readonly acceptOrigin?: (origin: string | undefined, host: string | undefined) => boolean;
}

export interface ListenAddress {
  readonly kind: 'tcp' | 'unix' | 'tls';
  readonly address: string;
  readonly port?: number;
}

export class IpcServer {
  private readonly servers: net.Server[] = [];
  private readonly unixPaths: string[] = [];
  private readonly connections = new Map<number, Connection>();
  /** Every accepted socket's connection, including those still in the handshake. */
  private readonly all = new Set<Connection>();
  /** Every admitted socket, until it closes: what --max-connections counts. */
  private readonly sockets = new Set<net.Socket>();
  /** Admitted sockets without a Connection yet (first bytes not seen, or a WebSocket upgrade under way). */
  private readonly unattached = new Set<net.Socket>();
  private nextHandle = 4; // q's first client handles are small file descriptors; never reused here
  readonly limits: Limits;
  private readonly auth: Authenticator;
  private readonly clock: Clock;
  /** Memory held for partly received messages, over every connection. */
  readonly inbound: InboundBudget;
  /** Accepted sockets per peer address (not unix: one local address for every client). */
  private readonly perPeer = new PeerCount();
  /** Connections refused at accept (max connections, total or per peer). */
  refused = 0;
  /** Refusals a client can cause at its message or connect rate are logged once a period (log-rate.ts). */
  readonly logRate: LogRate;
  private upgrader: WebSocketUpgrader | undefined;

  constructor(private readonly options: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.auth = options.authenticator ?? allowAll;
    this.clock = options.clock ?? systemClock();
    this.logRate = new LogRate(this.clock);
    this.inbound = new InboundBudget(this.limits.maxInboundBytes);
  }

  /** Accepted connections, handshaking and upgrading ones included. */
  get size(): number { return this.sockets.size; }

  /** Open connections by handle. */
  get handles(): ReadonlyMap<number, Connection> { return this.connections; }

  get(handle: number): Connection | undefined { return this.connections.get(handle); }

  listenTcp(port: number, host?: string): Promise<ListenAddress> {
    const server = net.createServer((s) => { if (this.admitSocket(s, false)) this.kdbOrWebSocket(s); });
    return this.start(server, { port, ...(host !== undefined ? { host } : {}) }, 'tcp');
  }

  /**
   * kdb+ IPC, or, when the first bytes are `GET `, a WebSocket upgrade (TCP and TLS ports, as q). Until
   * they are seen, a silent socket is held to the handshake timeout like one that never completes the
   * kdb+ handshake.
   */
  private kdbOrWebSocket(s: net.Socket): void {
    if (this.options.webSocket === false) { this.connect(s, false); return; }
    const silent = this.clock.after(this.limits.handshakeTimeoutMs, () => {
      this.options.log.warn({ peer: `${s.remoteAddress ?? ''}:${s.remotePort ?? 0}` }, 'handshake timeout');
      s.destroy();
    });
    s.once('close', () => silent.cancel());
    sniff(s, (kind) => {
      silent.cancel();
      if (kind === 'ipc') { this.connect(s, false); s.resume(); return; }
      this.webSockets().take(s);
    });
  }

  /** A unix domain socket at `path` ('\0'-prefixed: Linux abstract namespace). An old socket file is replaced. */
  listenUnix(path: string): Promise<ListenAddress> {
    if (!path.startsWith('\0') && existsSync(path)) unlinkSync(path);
    const server = net.createServer((s) => { if (this.admitSocket(s, true)) this.connect(s, true); });
    if (!path.startsWith('\0')) this.unixPaths.push(path);
    return this.start(server, { path }, 'unix');
  }

  listenTls(port: number, cert: Buffer, key: Buffer, host?: string): Promise<ListenAddress> {
    // Node's TLS handshake timeout (120 s by default) bounds a silent socket before ours can start.
    const server = tls.createServer({ cert, key, handshakeTimeout: this.limits.handshakeTimeoutMs }, (s) => {
      if (this.admitSocket(s, false)) this.kdbOrWebSocket(s); // wss:// for pages served over https
    });
    return this.start(server, { port, ...(host !== undefined ? { host } : {}) }, 'tls');
  }

  private start(server: net.Server, opts: net.ListenOptions, kind: ListenAddress['kind']): Promise<ListenAddress> {
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      // At start the caller reports it (one line, exit 1); once listening, an error is logged, no stack.
      server.once('error', reject);
      server.listen(opts, () => {
        server.off('error', reject);
        server.on('error', (err: NodeJS.ErrnoException) => this.options.log.error({ err: err.message, code: err.code ?? null, kind }, 'listener error'));
        const a = server.address();
        if (a && typeof a === 'object') resolve({ kind, address: a.address, port: a.port });
        else resolve({ kind, address: String(a ?? opts.path) });
      });
    });
  }

  private webSockets(): WebSocketUpgrader {
    this.upgrader ??= new WebSocketUpgrader({
      auth: this.auth, limits: this.limits, log: this.options.log, acceptOrigin: this.options.acceptOrigin,
      clock: this.clock,
      opened: (transport, user, raw) => {
        // No compression over WebSocket (q never compresses to it); capability 3 for the rest.
        this.connect(transport, false, { user, capability: 3 }, raw);
      },
    });
    return this.upgrader;
  }

  /**
   * Counts a new socket against --max-connections (total and per peer) before anything is read or
   * allocated: idle connections up to the fd limit would lock honest clients out. Every TCP socket
   * counts from accept, whatever it turns out to speak (kdb+ IPC or a WebSocket upgrade). Refused: the
   * socket is closed at once (a q client sees the connection end) and false is returned.
   */
  private admitSocket(socket: net.Socket, isUnix: boolean): boolean {
    // One party's connections count together: an IPv4 address, or an IPv6 /64 (address.ts).
    const address = isUnix ? undefined : addressBlock(socket.remoteAddress ?? '');
    const fromPeer = address === undefined ? 0 : this.perPeer.of(address);
    const { maxConnections, maxConnectionsPerPeer } = this.limits;
    socket.on('error', () => undefined); // reported by its Connection once it has one; before, nothing to tell
    if (this.sockets.size >= maxConnections || fromPeer >= maxConnectionsPerPeer) {
      this.refused++;
      const total = this.sockets.size >= maxConnections;
      this.logRate.warn(this.options.log, total ? 'refused total' : 'refused peer', { peer: address ?? 'unix', connections: total ? this.sockets.size : fromPeer,
        max: total ? maxConnections : maxConnectionsPerPeer, scope: total ? 'total' : 'peer' }, 'connection refused: too many connections');
      socket.destroy();
      return false;
    }
    if (address !== undefined) this.perPeer.hold(address, socket);
    this.sockets.add(socket);
    this.unattached.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.unattached.delete(socket);
    });
    return true;
  }

  /** A Connection over an admitted socket, or over a WebSocket upgraded from one (`raw`). */
  private connect(socket: Transport, isUnix: boolean, preauthenticated?: Preauthenticated, raw?: net.Socket): void {
    this.unattached.delete(raw ?? socket as net.Socket);
    const handle = this.nextHandle++;
    const handler = this.options.handler;
    const wrapped = {
      onOpen: (c: Connection) => {
        this.connections.set(c.handle, c);
        c.log.info({ capability: c.capability }, 'client connected'); // c.log carries the user already
        handler.onOpen?.(c);
      },
      onMessage: handler.onMessage.bind(handler),
      ...(handler.onFrame ? { onFrame: handler.onFrame.bind(handler) } : {}),
      ...(handler.admit ? { admit: handler.admit.bind(handler) } : {}),
      ...(handler.beforeFlush ? { beforeFlush: handler.beforeFlush.bind(handler) } : {}),
      onClose: (c: Connection, reason: Parameters<NonNullable<Handler['onClose']>>[1]) => {
        this.connections.delete(c.handle);
        this.all.delete(c);
        c.log.info({ reason }, 'client disconnected');
        handler.onClose?.(c, reason);
      },
    };
    const conn = new Connection(socket, handle, wrapped, this.auth, this.limits, this.options.log, isUnix,
      this.clock, this.inbound, preauthenticated, this.logRate);
    this.all.add(conn);
    socket.once('close', () => {
      this.all.delete(conn);
      this.inbound.release(conn);
    });
  }

  /** Stops listening and closes every client. */
  async close(): Promise<void> {
    for (const c of [...this.all]) c.close('shutdown');
    for (const s of [...this.unattached]) s.destroy(); // still sniffed or upgrading: nothing to drain
    this.upgrader?.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
    for (const p of this.unixPaths) if (existsSync(p)) unlinkSync(p);
  }
}
