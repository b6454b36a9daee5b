// The floor for bench:tick: a Node process that speaks the q handshake and forwards every async frame a
// feed sends, bytes unchanged and never decoded, to every subscriber. A sync message is answered with
// `::`; one whose text mentions .u.sub also makes its sender a subscriber. No tick logic, no journal.
// Prints "relay listening on :PORT" once ready. Usage: node dist-bench/bench/relay.js [port]
import net from 'node:net';

const HEADER = 8;
/** Response `::` (generic null): little-endian, type 2, length 10, type 101, index 0. */
const NULL_RESPONSE = Buffer.from([1, 2, 0, 0, 10, 0, 0, 0, 0x65, 0]);
const SUB = Buffer.from('.u.sub', 'latin1');

const subscribers = new Set<net.Socket>();

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  let handshaking = true;
  let carry: Buffer | undefined;
  socket.on('error', () => socket.destroy());
  socket.on('close', () => subscribers.delete(socket));
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
    while (data.length - at >= HEADER) {
      const little = data[at] === 1;
      const length = little ? data.readUInt32LE(at + 4) : data.readUInt32BE(at + 4);
      if (length <= HEADER) { socket.destroy(); return; }
      if (data.length - at < length) break;
      const msgType = data[at + 1];
      if (msgType !== 0) {
        forward(socket, data, run, at);
        if (msgType === 1) {
          if (data.subarray(at + HEADER, at + length).indexOf(SUB) >= 0) subscribers.add(socket);
          socket.write(NULL_RESPONSE);
        }
        run = at + length;
      }
      at += length;
    }
    forward(socket, data, run, at);
    if (at < data.length) carry = Buffer.from(data.subarray(at));
  });
}

/** The same bytes, one write per subscriber. */
function forward(from: net.Socket, data: Buffer, start: number, end: number): void {
  if (end <= start) return;
  const bytes = data.subarray(start, end);
  for (const s of subscribers) if (s !== from) s.write(bytes);
}

const server = net.createServer(serve);
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`relay listening on :${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
// Started by the bench over an IPC channel: never outlive it.
process.on('disconnect', () => process.exit(0));
