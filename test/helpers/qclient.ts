// node-q (a real, independent kdb+ client) behind promises: the q side of integration tests.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface NodeQConnection {
  k(...args: unknown[]): void;
  ks(...args: unknown[]): void;
  on(event: string, fn: (...args: unknown[]) => void): void;
  close(cb?: () => void): void;
}
interface NodeQ {
  connect(params: Record<string, unknown>, cb: (err: Error | undefined, con: NodeQConnection) => void): void;
}
export const nodeq = require('node-q') as NodeQ & Record<string, (...a: unknown[]) => unknown>;

export interface Upd { readonly table: string; readonly data: unknown }

export class QClient {
  readonly updates: Upd[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(readonly con: NodeQConnection) {
    con.on('upd', (table: unknown, data: unknown) => {
      this.updates.push({ table: String(table), data });
      for (const w of this.waiters.splice(0)) w();
    });
    con.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    con.on('error', () => undefined);
  }

  /** A sync request (string or function-call form); rejects with the q error. */
  sync(...args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.con.k(...args, (err: Error | undefined, res: unknown) => (err ? reject(err) : resolve(res)));
    });
  }

  /** An async message. */
  async(...args: unknown[]): void {
    this.con.ks(...args, () => undefined);
  }

  /** The next pushed non-upd message (node-q hands it to a k(cb) without arguments). */
  nextPush(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.con.k((err: Error | undefined, res: unknown) => (err ? reject(err) : resolve(res)));
    });
  }

  /** Resolves when `pred` holds over the updates received so far (or rejects after timeoutMs). */
  waitFor(pred: (u: Upd[]) => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; ${this.updates.length} updates`)), timeoutMs);
      const check = (): void => {
        if (pred(this.updates)) { clearTimeout(timer); resolve(); return; }
        if (this.closed) { clearTimeout(timer); reject(new Error('connection closed')); return; }
        this.waiters.push(check);
      };
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) { resolve(); return; }
      this.con.close(() => resolve());
    });
  }
}

export interface ConnectOptions {
  readonly port?: number;
  readonly unixSocket?: string;
  readonly user?: string;
  readonly password?: string;
  readonly flipTables?: boolean;
  readonly nanos2date?: boolean;
}

export function connect(opts: ConnectOptions): Promise<QClient> {
  return new Promise((resolve, reject) => {
    const params: Record<string, unknown> = { host: '127.0.0.1', socketNoDelay: true };
    if (opts.port !== undefined) params['port'] = opts.port;
    if (opts.unixSocket !== undefined) params['unixSocket'] = opts.unixSocket;
    if (opts.user !== undefined) params['user'] = opts.user;
    if (opts.password !== undefined) params['password'] = opts.password;
    if (opts.flipTables !== undefined) params['flipTables'] = opts.flipTables;
    if (opts.nanos2date !== undefined) params['nanos2date'] = opts.nanos2date;
    nodeq.connect(params, (err, con) => (err ? reject(err) : resolve(new QClient(con))));
  });
}
