// The floor for bench:tick: a Node process that speaks the q handshake and forwards every async frame a
// feed sends, bytes unchanged and never decoded. A sync message is answered with `::`; one whose text
// mentions .u.sub also makes its sender a subscriber. No tick logic, no journal.
// A subscriber gets every frame, unless its .u.sub text ends "/ group G of N": then it gets the frames
// k ≡ G (mod N), k counting each feed connection's async frames from 0 — the fan-out phase's rotation
// (tick.bench.ts), given up front, so the relay writes each update to exactly the subscribers the TP's
// filters pick, one writev per subscriber per read, as the TP sends a turn's messages.
// Prints "relay listening on :PORT" once ready. Usage: node dist-bench/bench/relay.js [port]
import net from 'node:net';

const HEADER = 8;
/** Response `::` (generic null): little-endian, type 2, length 10, type 101, index 0. */
const NULL_RESPONSE = Buffer.from([1, 2, 0, 0, 10, 0, 0, 0, 0x65, 0]);
const SUB = Buffer.from('.u.sub', 'latin1');
const GROUP = /\/ group (\d+) of (\d+)\s*$/;

/** Subscribers that get everything. */
const everyone = new Set<net.Socket>();
/** Routed subscribers: by N, then by G. */
const routes = new Map<number, net.Socket[][]>();
/** Per routed subscriber: the frames of the current read it is to get. */
const pending = new Map<net.Socket, Buffer[]>();

function subscribe(socket: net.Socket, text: string): void {
  unsubscribe(socket);
  const m = GROUP.exec(text);
  if (!m) { everyone.add(socket); return; }
  const g = Number(m[1]);
  const n = Number(m[2]);
  if (!(n > 0 && g < n)) { everyone.add(socket); return; }
  let groups = routes.get(n);
  if (!groups) { groups = Array.from({ length: n }, () => []); routes.set(n, groups); }
  (groups[g] as net.Socket[]).push(socket);
  pending.set(socket, []);
}

function unsubscribe(socket: net.Socket): void {
  everyone.delete(socket);
  if (!pending.delete(socket)) return;
  for (const [n, groups] of routes) {
    for (const g of groups) { const i = g.indexOf(socket); if (i >= 0) g.splice(i, 1); }
    if (groups.every((g) => g.length === 0)) routes.delete(n);
  }
}

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  let handshaking = true;
  let carry: Buffer | undefined;
  let frames = 0; // this connection's async frames so far (the routing counter)
  socket.on('error', () => socket.destroy());
  socket.on('close', () => unsubscribe(socket));
  socket.on('data', (chunk: Buffer) => {
    let data = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = undefined;
    if (handshaking) {
      const nul = data.indexOf(0);
      if (nul < 0) { carry = data; return; }
      // "user:password" + capability byte + NUL; no capability byte means 0.
      const cap = nul > 0 && (data[nul - 1] as number) < 32 ? (data[nul - 1] as number) : 0;
      socket.write(Buffer.from([Math.min(cap, 3)]));
      handshaking = false;
      data = data.subarray(nul + 1);
    }
    let at = 0;
    let run = 0; // start of the current stretch of whole async frames
    let routed = false;
    while (data.length - at >= HEADER) {
      const little = data[at] === 1;
      const length = little ? data.readUInt32LE(at + 4) : data.readUInt32BE(at + 4);
      if (length <= HEADER) { socket.destroy(); return; }
      if (data.length - at < length) break;
      const msgType = data[at + 1];
      if (msgType !== 0) {
        forward(socket, data, run, at);
        if (msgType === 1) {
          const body = data.subarray(at + HEADER, at + length);
          if (body.indexOf(SUB) >= 0) subscribe(socket, body.toString('latin1'));
          socket.write(NULL_RESPONSE);
        }
        run = at + length;
      } else if (routes.size > 0) {
        const k = frames++;
        const frame = data.subarray(at, at + length);
        for (const [n, groups] of routes) for (const s of groups[k % n] as net.Socket[]) if (s !== socket) (pending.get(s) as Buffer[]).push(frame);
        routed = true;
      }
      at += length;
    }
    forward(socket, data, run, at);
    if (routed) flushRouted();
    if (at < data.length) carry = Buffer.from(data.subarray(at));
  });
}

/** The same bytes, one write per subscriber that gets everything. */
function forward(from: net.Socket, data: Buffer, start: number, end: number): void {
  if (end <= start) return;
  const bytes = data.subarray(start, end);
  for (const s of everyone) if (s !== from) s.write(bytes);
}

/** Each routed subscriber's frames of this read, as one writev. */
function flushRouted(): void {
  for (const [s, frames] of pending) {
    if (frames.length === 0) continue;
    if (frames.length === 1) s.write(frames[0] as Buffer);
    else {
      s.cork();
      for (const f of frames) s.write(f);
      s.uncork();
    }
    frames.length = 0;
  }
}

const server = net.createServer(serve);
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`relay listening on :${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
// Started by the bench over an IPC channel: never outlive it.
process.on('disconnect', () => process.exit(0));
