// Listeners for q clients: TCP, unix domain socket (q's `:unix://PORT), and TLS, all feeding the same
// handle registry. Handles are small integers like q's .z.w. Spec: code.kx.com/q/basics/ipc.
import { existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Authenticator } from './auth.js';
import { allowAll } from './auth.js';
import { Connection } from './connection.js';
import type { Handler } from './connection.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { Limits } from './limits.js';

export interface ServerOptions {
  readonly handler: Handler;
  readonly log: Logger;
  readonly authenticator?: Authenticator;
  readonly limits?: Partial<Limits>;
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

  constructor(private readonly options: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.auth = options.authenticator ?? allowAll;
  }

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
    const handle = this.nextHandle++;
    const handler = this.options.handler;
    const wrapped = {
      onOpen: (c: Connection) => {
        this.connections.set(c.handle, c);
        c.log.info({ user: c.user, capability: c.capability }, 'client connected');
        handler.onOpen?.(c);
      },
      onMessage: handler.onMessage.bind(handler),
      ...(handler.onFrame ? { onFrame: handler.onFrame.bind(handler) } : {}),
      ...(handler.beforeFlush ? { beforeFlush: handler.beforeFlush.bind(handler) } : {}),
      onClose: (c: Connection, reason: Parameters<NonNullable<Handler['onClose']>>[1]) => {
        this.connections.delete(c.handle);
        this.all.delete(c);
        c.log.info({ reason }, 'client disconnected');
        handler.onClose?.(c, reason);
      },
    };
    const conn = new Connection(socket, handle, wrapped, this.auth, this.limits, this.options.log, isUnix);
    this.all.add(conn);
    socket.once('close', () => this.all.delete(conn));
  }

  /** Stops listening and closes every client. */
  async close(): Promise<void> {
    for (const c of [...this.all]) c.close('shutdown');
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
    for (const p of this.unixPaths) if (existsSync(p)) unlinkSync(p);
  }
}
