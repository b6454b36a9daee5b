// WebSocket clients for the tests of kdb+ over WebSocket on the IPC port (src/server/websocket.ts):
// KdbWs wraps a real client (the `ws` package) and reads every binary frame with node-q's serialiser;
// RawWs writes whatever frame bytes a test wants (RFC 6455 §5.2, built here by hand: unmasked, partial,
// 64-bit lengths) over a plain socket after an upgrade it sends itself, and parses what comes back.
import { createHash, randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import WebSocket from 'ws';
import { nodeqCodec, RawClient } from './fixture.js';

export interface Frame { readonly type: number; readonly value?: unknown; readonly error?: string }

/** A sync request as c.js frames it: c.js writes async messages; byte 1 set to 1 makes it sync. */
export const syncMsg = (x: unknown): Buffer => { const b = nodeqCodec.serialize(x); b[1] = 1; return b; };
export const asyncMsg = (x: unknown): Buffer => nodeqCodec.serialize(x);

/** A real WebSocket client that keeps every binary frame as (message type, decoded value or error text). */
export class KdbWs {
  readonly frames: Frame[] = [];
  readonly pongs: Buffer[] = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.frames.push({ type: -1, error: 'text frame' });
      else {
        const type = data[1] ?? -1;
        try {
          this.frames.push({ type, value: nodeqCodec.deserialize(data, true, true) });
        } catch (err) {
          this.frames.push({ type, error: err instanceof Error ? err.message : String(err) });
        }
      }
      this.wake();
    });
    ws.on('pong', (data: Buffer) => { this.pongs.push(data); this.wake(); });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.wake();
    }));
    ws.on('error', () => undefined);
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  /** Waits until pred holds (checked on each frame, pong or close). */
  async until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  /** Takes the next frame of this message type (2: response, 0: async push). */
  async next(type: number, ms = 10_000): Promise<Frame> {
    let i = -1;
    await this.until(() => (i = this.frames.findIndex((f) => f.type === type)) >= 0 || this.ws.readyState === WebSocket.CLOSED,
      `a frame of type ${type}`, ms);
    if (i < 0) throw new Error('closed');
    return this.frames.splice(i, 1)[0] as Frame;
  }

  async sync(x: unknown): Promise<Frame> {
    this.ws.send(syncMsg(x), { binary: true });
    return this.next(2);
  }
}

/** Opens a `ws` client (closed in teardown); rejects on a refused upgrade. */
export async function openWs(t: Test, url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<KdbWs> {
  const ws = protocols ? new WebSocket(url, protocols, options) : new WebSocket(url, options);
  const k = new KdbWs(ws);
  t.teardown(() => { ws.terminate(); });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return k;
}

/** The HTTP status an upgrade gets (0 when it is accepted). */
export function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = protocols ? new WebSocket(url, protocols, options) : new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? -1); res.resume(); ws.terminate(); });
    ws.on('open', () => { resolve(0); ws.close(); });
    ws.on('error', reject);
  });
}

export const basic = (user: string, password: string): WebSocket.ClientOptions =>
  ({ headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });

export interface FrameOptions {
  readonly fin?: boolean;
  readonly mask?: boolean;
  readonly rsv?: number;
  /** The length the header declares, when it differs from the payload sent (a frame sent in part). */
  readonly declare?: number | bigint;
  /** Force the 64-bit length form. */
  readonly long?: boolean;
}

/** One client frame (RFC 6455 §5.2), masked unless told otherwise. */
export function frame(op: number, payload: Buffer = Buffer.alloc(0), o: FrameOptions = {}): Buffer {
  const fin = o.fin ?? true;
  const mask = o.mask ?? true;
  const declared = BigInt(o.declare ?? payload.length);
  let head: Buffer;
  if (declared < 126n && !o.long) head = Buffer.from([0, Number(declared)]);
  else if (declared < 65536n && !o.long) { head = Buffer.alloc(4); head[1] = 126; head.writeUInt16BE(Number(declared), 2); }
  else { head = Buffer.alloc(10); head[1] = 127; head.writeBigUInt64BE(declared, 2); }
  head[0] = (fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | op;
  if (!mask) return Buffer.concat([head, payload]);
  head[1] = (head[1] as number) | 0x80;
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([head, key, body]);
}

export interface ServerFrame { readonly fin: boolean; readonly op: number; readonly payload: Buffer }

/** A WebSocket spoken by hand over a raw socket: the upgrade, then frames in and out as bytes. */
export class RawWs {
  status = 0;
  headers = '';
  private constructor(readonly raw: RawClient, private readonly bodyAt: () => number) {}

  /** Connects and sends an upgrade request (`lines` replace or drop headers: value undefined drops it). */
  static async open(port: number, lines: Record<string, string | undefined> = {}, where: { localAddress?: string } = {}): Promise<RawWs> {
    const raw = await RawClient.connect({ port, ...where });
    const key = randomBytes(16).toString('base64');
    const headers: Record<string, string | undefined> = {
      Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13', ...lines,
    };
    raw.write(Buffer.from(`GET / HTTP/1.1\r\n${Object.entries(headers).filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${v as string}\r\n`).join('')}\r\n`));
    let end = -1;
    await raw.until(() => (end = raw.bytes.indexOf('\r\n\r\n')) >= 0).catch(() => undefined);
    const ws = new RawWs(raw, () => end + 4);
    if (end < 0) return ws;
    ws.headers = raw.bytes.subarray(0, end).toString('latin1');
    ws.status = Number(/^HTTP\/1\.1 (\d+)/.exec(ws.headers)?.[1] ?? 0);
    if (ws.status === 101) {
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (!ws.headers.includes(`Sec-WebSocket-Accept: ${accept}`)) throw new Error('wrong Sec-WebSocket-Accept');
    }
    return ws;
  }

  /** Sends an upgrade, expecting 101. */
  static async upgraded(t: Test, port: number, lines: Record<string, string | undefined> = {}, where: { localAddress?: string } = {}): Promise<RawWs> {
    const ws = await RawWs.open(port, lines, where);
    t.teardown(() => ws.raw.destroy());
    if (ws.status !== 101) throw new Error(`upgrade answered ${ws.status}`);
    return ws;
  }

  write(b: Buffer): void { this.raw.write(b); }

  /** A kdb+ message as one masked binary frame. */
  send(message: Buffer): void { this.write(frame(2, message)); }

  /** Server frames received so far (a partial one at the end is left out). */
  frames(): ServerFrame[] {
    const b = this.raw.bytes.subarray(this.bodyAt());
    const out: ServerFrame[] = [];
    let at = 0;
    while (at + 2 <= b.length) {
      const b0 = b[at] as number;
      let len = (b[at + 1] as number) & 0x7f;
      let p = at + 2;
      if (len === 126) { if (p + 2 > b.length) break; len = b.readUInt16BE(p); p += 2; }
      else if (len === 127) { if (p + 8 > b.length) break; len = Number(b.readBigUInt64BE(p)); p += 8; }
      if (p + len > b.length) break;
      out.push({ fin: (b0 & 0x80) !== 0, op: b0 & 0x0f, payload: b.subarray(p, p + len) });
      at = p + len;
    }
    return out;
  }

  /** Waits for a close frame from the server and returns its code (and the socket's end). */
  async closeCode(): Promise<number> {
    await this.raw.closed;
    const close = this.frames().find((f) => f.op === 8);
    return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : -1;
  }

  /** Waits for `n` binary frames; returns them decoded by node-q (Error for a q error). */
  async messages(n: number): Promise<unknown[]> {
    await this.raw.until(() => this.frames().filter((f) => f.op === 2).length >= n);
    return this.frames().filter((f) => f.op === 2).map((f) => {
      try { return nodeqCodec.deserialize(f.payload); } catch (err) { return err; }
    });
  }
}
