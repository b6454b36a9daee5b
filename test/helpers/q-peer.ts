// A q process's side of IPC for the tests of our own client (src/client) and what uses it, played with
// node-q's codec, not ours: the handshake answered as q answers it, each message read by node-q's
// deserialize, and the answers written by node-q's serialize (q's error bytes by hand, as node-q has no
// encoder for them). Spec: code.kx.com/q/basics/ipc (handshake, message header, message types).
import { createRequire } from 'node:module';
import net from 'node:net';
import type { Test } from 'tap';

const require = createRequire(import.meta.url);
const codec = require('node-q/lib/c.js') as { serialize(x: unknown): Buffer; deserialize(b: Buffer): unknown };
const typed = require('node-q') as Record<string, (x: unknown) => unknown>;
const Long = require('long') as { fromNumber(n: number): unknown };

/** Values as node-q types them. */
export const qSym = (s: string): unknown => typed['symbol']?.(s);
export const qLong = (n: number): unknown => typed['long']?.(Long.fromNumber(n));

/** x as a whole message of the given type (0 async, 1 sync, 2 response), encoded by node-q. */
export function qMessage(x: unknown, type: 0 | 1 | 2): Buffer {
  const b = codec.serialize(x);
  b[1] = type;
  return b;
}

/** q's error response 'text: type -128, the text NUL-terminated. */
export function qError(text: string): Buffer {
  const body = Buffer.from(`\x80${text}\0`, 'latin1');
  const head = Buffer.from([1, 2, 0, 0, 0, 0, 0, 0]);
  head.writeUInt32LE(8 + body.length, 4);
  return Buffer.concat([head, body]);
}

export interface Received { readonly type: number; readonly value: unknown }

export interface QPeerOptions {
  /** `user:password` logins let in; absent, every login. A refused one is closed with no byte, as q does. */
  readonly users?: readonly string[];
  /** The answer to a sync request: bytes to write (one or more messages), or undefined to answer nothing. */
  readonly answer?: (value: unknown, socket: net.Socket) => Buffer | undefined;
  /** A unix socket path to listen on instead of TCP port 0. */
  readonly path?: string;
}

export interface QPeer {
  readonly port: number;
  /** Each message read, decoded by node-q. */
  readonly received: Received[];
  /** The credentials of each handshake, as sent. */
  readonly logins: string[];
  readonly sockets: net.Socket[];
}

/**
 * What the tests ask of a q process: "ping" → `pong; ("add";x;y…) → the sum, a long; "boom" → 'boom;
 * ("push";n) → n async (`upd;`trade;i) before the answer n; "slow" → no answer; else 'nyi.
 */
export function qAnswer(value: unknown): Buffer | undefined {
  const [name, ...args] = Array.isArray(value) ? value as unknown[] : [value];
  switch (name) {
    case 'ping': return qMessage(qSym('pong'), 2);
    case 'boom': return qError('boom');
    case 'slow': return undefined;
    case 'add': return qMessage(qLong(args.reduce((a: number, x) => a + Number(x), 0)), 2);
    case 'push': {
      const n = Number(args[0]);
      const pushes = Array.from({ length: n }, (_, i) => qMessage([qSym('upd'), qSym('trade'), qLong(i)], 0));
      return Buffer.concat([...pushes, qMessage(qLong(n), 2)]);
    }
    default: return qError('nyi');
  }
}

/** Starts a q peer on 127.0.0.1 port 0 (or opts.path), closed with every connection in teardown. */
export async function startQPeer(t: Test, opts: QPeerOptions = {}): Promise<QPeer> {
  const peer = { port: 0, received: [] as Received[], logins: [] as string[], sockets: [] as net.Socket[] };
  const answer = opts.answer ?? qAnswer;
  const server = net.createServer((socket) => {
    peer.sockets.push(socket);
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    let loggedIn = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!loggedIn) {
        const end = pending.indexOf(0);
        if (end < 0) return;
        // "user:password" then the capability byte, then NUL; q answers with min(capability, 3).
        const login = pending.subarray(0, end - 1).toString('latin1');
        const capability = pending[end - 1] as number;
        peer.logins.push(login);
        if (opts.users && !opts.users.includes(login)) { socket.destroy(); return; }
        loggedIn = true;
        socket.write(Buffer.from([Math.min(capability, 3)]));
        pending = pending.subarray(end + 1);
      }
      while (pending.length >= 8) {
        const length = pending.readUInt32LE(4);
        if (pending.length < length) return;
        const msg = pending.subarray(0, length);
        pending = pending.subarray(length);
        const value = codec.deserialize(msg);
        peer.received.push({ type: msg[1] as number, value });
        if (msg[1] === 1) {
          const reply = answer(value, socket);
          if (reply) socket.write(reply);
        }
      }
    });
  });
  await new Promise<void>((resolve) => (opts.path ? server.listen(opts.path, resolve) : server.listen(0, '127.0.0.1', resolve)));
  if (!opts.path) peer.port = (server.address() as net.AddressInfo).port;
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of peer.sockets) s.destroy();
    server.close(() => resolve());
  }));
  return peer;
}
