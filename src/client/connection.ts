// A minimal q client on our own codec: used by `tickerplant replay --to`, `tickerplant pay` and
// chained tickerplants. Responses match requests by order, as in q (code.kx.com/q/basics/ipc).
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { QError, TpError } from '../errors.js';
import { decodeMessage, encodeMessage, Framer, MsgType } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';

export interface ClientOptions {
  readonly host?: string;
  readonly port?: number;
  readonly unixSocket?: string;
  readonly user?: string;
  readonly password?: string;
  /** [timeoutMs=5000] for connect and handshake. */
  readonly timeoutMs?: number;
  /** [maxMessageBytes=1 GiB] */
  readonly maxMessageBytes?: number;
  /** Runs the connect timeout; the system clock by default. */
  readonly timers?: Pick<Clock, 'after'>;
}

interface Pending { resolve(v: QValue): void; reject(e: Error): void; onAnswer: (() => void) | undefined }

/**
 * Events: 'message' (value, msgType) for anything the server pushes (async `upd`, `.u.end`);
 * 'close' (error?) when the connection ends.
 */
export class QConnection extends EventEmitter {
  private readonly pending: Pending[] = [];
  private closed = false;

  private constructor(private readonly socket: net.Socket, readonly capability: number, maxMessageBytes: number) {
    super();
    const framer = new Framer({ maxMessageBytes });
    const limits = { maxMessageBytes, maxDepth: 64 };
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk, (frame) => {
          const msg = decodeMessage(frame, limits);
          if (msg.msgType === MsgType.Response) this.settle(msg.value);
          else this.emit('message', msg.value, msg.msgType);
        });
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new TpError('IPC_ERR_TRUNCATED', 'connection closed')));
  }

  static connect(options: ClientOptions): Promise<QConnection> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = options.unixSocket !== undefined
        ? net.connect({ path: options.unixSocket })
        : net.connect({ host: options.host ?? '127.0.0.1', port: options.port ?? 5010 });
      const timer = (options.timers ?? systemClock()).after(timeoutMs, () => { socket.destroy(); reject(new Error('connect timeout')); });
      socket.once('error', (err) => { timer.cancel(); reject(err); });
      socket.once('connect', () => {
        socket.setNoDelay(true);
        const creds = `${options.user ?? ''}:${options.password ?? ''}`;
        socket.write(Buffer.concat([Buffer.from(creds, 'utf8'), Buffer.from([3, 0])]));
        socket.once('data', (reply: Buffer) => {
          timer.cancel();
          socket.removeAllListeners('error');
          const cap = reply[0];
          if (cap === undefined) { reject(new QError('access')); return; }
          const conn = new QConnection(socket, cap, options.maxMessageBytes ?? 1 << 30);
          if (reply.length > 1) socket.emit('data', reply.subarray(1));
          resolve(conn);
        });
        socket.once('close', () => { timer.cancel(); reject(new QError('access')); });
      });
    });
  }

  /**
   * A sync request; rejects with QError carrying q's error text. `onAnswer` runs synchronously when the
   * response arrives, before any message that followed it in the same read is emitted.
   */
  sync(value: QValue, onAnswer?: () => void): Promise<QValue> {
    if (this.closed) return Promise.reject(new TpError('IPC_ERR_TRUNCATED', 'connection closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, onAnswer });
      this.socket.write(encodeMessage(value, MsgType.Sync));
    });
  }

  /** An async message; returns false when the socket's buffer is full (wait for 'drain'). */
  async(value: QValue): boolean {
    if (this.closed) return false;
    return this.socket.write(encodeMessage(value, MsgType.Async));
  }

  /** Resolves when buffered writes have left. */
  drained(): Promise<void> {
    return this.socket.writableNeedDrain ? new Promise((r) => this.socket.once('drain', () => r())) : Promise.resolve();
  }

  close(): void {
    this.socket.end();
  }

  private settle(value: QValue): void {
    const p = this.pending.shift();
    if (!p) return;
    p.onAnswer?.();
    if (value.type === -128) p.reject(QError.named(value.message));
    else p.resolve(value);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(err);
    this.socket.destroy();
    this.emit('close', err);
  }
}

/** host:port (or :port) as q writes it. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new TpError('CONFIG_ERR_INVALID', `expected host:port with a port from 1 to 65535, got '${s}'`);
  return { host: m[1] || '127.0.0.1', port };
}

