// Listeners for q clients: TCP, unix domain socket (q's `:unix://PORT), and TLS, all feeding the same
// handle registry. Handles are small integers like q's .z.w. Spec: code.kx.com/q/basics/ipc.
import { existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { Authenticator } from './auth.js';
import { allowAll } from './auth.js';
import { Connection } from './connection.js';
import type { Handler } from './connection.js';
import { InboundBudget } from './inbound.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { Limits } from './limits.js';

export interface ServerOptions {
  readonly handler: Handler;
  readonly log: Logger;
  readonly authenticator?: Authenticator;
  readonly limits?: Partial<Limits>;
  /** Timers (handshake timeout, minimum progress). [systemClock()] */
  readonly clock?: Clock;
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
  private nextHandle = 4; // q's first client handles are small file descriptors; never reused here
  readonly limits: Limits;
  private readonly auth: Authenticator;
  private readonly clock: Clock;
  /** Memory held for partly received messages, over every connection. */
  readonly inbound: InboundBudget;
  /** Accepted sockets per peer address (not unix: one local address for every client). */
  private readonly perPeer = new Map<string, number>();
  /** Connections refused at accept (max connections, total or per peer). */
  refused = 0;

  constructor(private readonly options: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.auth = options.authenticator ?? allowAll;
    this.clock = options.clock ?? systemClock();
    this.inbound = new InboundBudget(this.limits.maxInboundBytes);
  }

  /** Accepted connections, handshaking ones included. */
  get size(): number { return this.all.size; }

  /** Open connections by handle. */
  get handles(): ReadonlyMap<number, Connection> { return this.connections; }

  get(handle: number): Connection | undefined { return this.connections.get(handle); }

  listenTcp(port: number, host?: string): Promise<ListenAddress> {
    const server = net.createServer((s) => this.accept(s, false));
    return this.start(server, { port, ...(host !== undefined ? { host } : {}) }, 'tcp');
  }

  /** A unix domain socket at `path` ('\0'-prefixed: Linux abstract namespace). An old socket file is replaced. */
  listenUnix(path: string): Promise<ListenAddress> {
    if (!path.startsWith('\0') && existsSync(path)) unlinkSync(path);
    const server = net.createServer((s) => this.accept(s, true));
    if (!path.startsWith('\0')) this.unixPaths.push(path);
    return this.start(server, { path }, 'unix');
  }

  listenTls(port: number, cert: Buffer, key: Buffer, host?: string): Promise<ListenAddress> {
    // Node's TLS handshake timeout (120 s by default) bounds a silent socket before ours can start.
    const server = tls.createServer({ cert, key, handshakeTimeout: this.limits.handshakeTimeoutMs }, (s) => this.accept(s, false));
    return this.start(server, { port, ...(host !== undefined ? { host } : {}) }, 'tls');
  }

  private start(server: net.Server, opts: net.ListenOptions, kind: ListenAddress['kind']): Promise<ListenAddress> {
    this.servers.push(server);
    server.on('error', (err) => this.options.log.error({ err, kind }, 'listener error'));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts, () => {
        server.off('error', reject);
        const a = server.address();
        if (a && typeof a === 'object') resolve({ kind, address: a.address, port: a.port });
        else resolve({ kind, address: String(a ?? opts.path) });
      });
    });
  }

  private accept(socket: net.Socket, isUnix: boolean): void {
    // Checked before anything is read or allocated: idle connections up to the fd limit would lock
    // honest clients out. The socket is closed at once; a q client sees the connection end.
    const address = isUnix ? undefined : socket.remoteAddress ?? '';
    const fromPeer = address === undefined ? 0 : this.perPeer.get(address) ?? 0;
    const { maxConnections, maxConnectionsPerPeer } = this.limits;
    if (this.all.size >= maxConnections || fromPeer >= maxConnectionsPerPeer) {
      this.refused++;
      const total = this.all.size >= maxConnections;
      this.options.log.warn({ peer: address ?? 'unix', connections: total ? this.all.size : fromPeer,
        max: total ? maxConnections : maxConnectionsPerPeer, scope: total ? 'total' : 'peer' }, 'connection refused: too many connections');
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    if (address !== undefined) this.perPeer.set(address, fromPeer + 1);
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
      this.clock, this.inbound);
    this.all.add(conn);
    socket.once('close', () => {
      this.all.delete(conn);
      this.inbound.release(conn);
      if (address === undefined) return;
      const n = (this.perPeer.get(address) ?? 1) - 1;
      if (n <= 0) this.perPeer.delete(address); else this.perPeer.set(address, n);
    });
  }

  /** Stops listening and closes every client. */
  async close(): Promise<void> {
    for (const c of [...this.all]) c.close('shutdown');
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
    for (const p of this.unixPaths) if (existsSync(p)) unlinkSync(p);
  }
}
