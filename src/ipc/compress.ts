// IPC message compression as q, c.java and kdbplus do it: an LZ-style stream of flag bytes, literals and
// XOR-keyed back-references. Spec: code.kx.com/q/basics/ipc (compression); KxSystems/javakdb c.java (compress, uncompress).
import { IpcDecodeError } from '../errors.js';

const HEADER = 8;
/** Compressed messages carry the uncompressed size at offset 8; the stream starts at 12. */
const STREAM_START = 12;
/** q compresses only messages longer than this, header included. */
const MIN_COMPRESS_LENGTH = 2000;
/** Worst case bytes one group writes: flag byte + 8 two-byte references. */
const GROUP_RESERVE = 17;

/** q's sending policy: capability ≥ 1, longer than 2000 bytes, peer not local. */
export function shouldCompress(length: number, peerIsLocal: boolean, capability: number): boolean {
  return capability >= 1 && length > MIN_COMPRESS_LENGTH && !peerIsLocal;
}

/**
 * Compresses a complete uncompressed message (header included) exactly as q does, or returns
 * undefined when q would send it uncompressed: 2000 bytes or less, or the output would not fit in half
 * the input. No locality check: that is the caller's policy (`shouldCompress`).
 */
export function compress(message: Buffer): Buffer | undefined {
  const n = message.length;
  if (n <= MIN_COMPRESS_LENGTH) return undefined;
  const out = Buffer.allocUnsafe(Math.floor(n / 2));
  const end = encodeStream(message, out);
  if (end < 0) return undefined;
  message.copy(out, 0, 0, 4);
  out[2] = 1;
  const little = message[0] === 1;
  writeU32(out, 4, end, little);
  writeU32(out, 8, n, little);
  return Buffer.from(out.subarray(0, end)); // exact-size copy: queued messages should not pin n/2 bytes
}

/**
 * Expands a complete compressed message (header byte 2 = 1) into the full uncompressed message with
 * its header rebuilt. Hostile input fails with IpcDecodeError before any oversized allocation.
 */
export function decompress(message: Buffer, maxBytes: number): Buffer {
  const size = claimedSize(message, maxBytes);
  // allocUnsafe is safe: expandStream writes every byte before it is read and fills out exactly.
  const out = Buffer.allocUnsafe(size);
  startHeader(message, out, size);
  expandStream(message, out, size, size);
  return out;
}

/**
 * The first n bytes of the message decompress() would return (all of it when shorter), its header's
 * length field saying the whole size: what admission reads before the whole is expanded. A claim of
 * 256 MiB costs its allocation and ~1 s of expansion; refused from its first bytes, it costs neither.
 */
export function decompressPrefix(message: Buffer, n: number, maxBytes: number): Buffer {
  const size = claimedSize(message, maxBytes);
  const stop = Math.min(size, Math.max(HEADER, n));
  // Room for the back-reference that crosses stop (at most 257 bytes), so it is copied, not refused.
  const out = Buffer.allocUnsafe(Math.min(size, stop + 257));
  startHeader(message, out, size);
  expandStream(message, out, size, stop);
  return out.subarray(0, stop);
}

/** The uncompressed size header bytes 8-11 claim, refused when over maxBytes or more than the stream can hold. */
function claimedSize(message: Buffer, maxBytes: number): number {
  if (message.length < STREAM_START) throw corrupt('compressed message shorter than 12 bytes');
  if (message[2] !== 1) throw corrupt('message is not flagged as compressed');
  const little = message[0] === 1; // byte 0: 1 little-endian, 0 big-endian
  const size = little ? message.readUInt32LE(8) : message.readUInt32BE(8);
  if (size < HEADER) throw corrupt(`uncompressed size ${size} is smaller than a header`);
  if (size > maxBytes) { // the same limit, and code, the framer applies to wire lengths
    throw new IpcDecodeError('IPC_ERR_TOO_LARGE', `uncompressed size ${size} exceeds ${maxBytes}`);
  }
  // Refused before allocating: a claim the stream cannot possibly fill is a lie, however small.
  const most = maxExpansion(message.length);
  if (size > most) {
    throw corrupt(`uncompressed size ${size} is more than ${message.length} compressed bytes can hold (${most})`);
  }
  return size;
}

function startHeader(message: Buffer, out: Buffer, size: number): void {
  out[0] = message[0] as number;
  out[1] = message[1] as number;
  out[2] = 0;
  out[3] = 0;
  writeU32(out, 4, size, message[0] === 1);
}

/**
 * The largest message `length` compressed bytes can expand to: every group at best is one flag byte and
 * eight 2-byte back-references of 2 + 255 bytes each: 17 bytes → 2056. A header claiming more is
 * corrupt, and refusing it before the allocation keeps decompression within a fixed multiple of the
 * bytes received (the framer's limit bounds those).
 */
export function maxExpansion(length: number): number {
  const stream = Math.max(0, length - STREAM_START);
  return HEADER + Math.ceil(stream / GROUP_RESERVE) * 8 * 257;
}

/**
 * Writes the compressed stream for msg into out from offset 12 and returns the end offset, or -1 when
 * q would abandon (a group would start past floor(n/2) − 17). A line-by-line port of c.java `compress`.
 */
function encodeStream(msg: Uint8Array, out: Uint8Array): number {
  const n = msg.length;
  const limit = out.length - GROUP_RESERVE;
  const table = new Int32Array(256); // key (XOR of a byte pair) → message position; 0 = empty
  let flagPos = STREAM_START;
  let w = STREAM_START + 1;
  let flags = 0;
  let bit = 1;
  let key = 0;
  let pendingKey = 0; // a literal's pair is entered one item late, mirroring the decoder
  let pendingPos = 0;
  let s = HEADER;
  while (s < n) {
    let cand = 0;
    let literal = true;
    if (s <= n - 3) { // the last two bytes are always literals
      key = (msg[s] as number) ^ (msg[s + 1] as number);
      cand = table[key] as number;
      literal = cand === 0 || msg[cand] !== msg[s];
    }
    if (pendingPos > 0) {
      table[pendingKey] = pendingPos;
      pendingPos = 0;
    }
    if (literal) {
      pendingKey = key; // may be stale in the last two bytes: no reference can follow, so harmless
      pendingPos = s;
      out[w++] = msg[s++] as number;
    } else {
      table[key] = s;
      flags |= bit;
      let from = cand + 2;
      s += 2;
      const start = s;
      const stop = Math.min(s + 255, n);
      while (s < stop && msg[from] === msg[s]) { s++; from++; }
      out[w++] = key;
      out[w++] = s - start;
    }
    bit <<= 1;
    if (bit === 256 && s < n) { // open the next group, or give up as q does
      out[flagPos] = flags;
      if (w > limit) return -1;
      flagPos = w++;
      flags = 0;
      bit = 1;
    }
  }
  out[flagPos] = flags;
  return w;
}

/**
 * Decodes the stream of inp (from offset 12) into out (from offset 8) until at least `stop` bytes are
 * there (a back-reference may end up to 256 bytes past stop); none may run past `size`, the
 * claimed whole. Every item consumes input, so a hostile stream ends in an error, never a loop.
 */
function expandStream(inp: Uint8Array, out: Uint8Array, size: number, stop: number): void {
  const table = new Int32Array(256); // valid positions are ≥ 8, so 0 means "never entered"
  const inEnd = inp.length;
  let i = STREAM_START;
  let o = HEADER;
  let hashed = HEADER; // first position whose pair has not been entered yet
  let flags = 0;
  let mask = 0;
  while (o < stop) {
    if (mask === 0) {
      if (i >= inEnd) throw corrupt('compressed stream ends early');
      flags = inp[i++] as number;
      mask = 1;
    }
    if ((flags & mask) === 0) {
      if (i >= inEnd) throw corrupt('compressed stream ends early');
      out[o++] = inp[i++] as number;
      while (hashed < o - 1) {
        table[(out[hashed] as number) ^ (out[hashed + 1] as number)] = hashed;
        hashed++;
      }
    } else {
      if (i + 1 >= inEnd) throw corrupt('compressed stream ends early');
      const src = table[inp[i] as number] as number;
      const count = 2 + (inp[i + 1] as number);
      i += 2;
      if (src === 0) throw corrupt('back-reference to an empty table slot');
      if (o + count > size) throw corrupt('back-reference runs past the stated size');
      // Forward, byte by byte: overlapping copies replicate a pattern. src < o, so every byte
      // read has already been written.
      for (let k = 0; k < count; k++) out[o + k] = out[src + k] as number;
      // Pairs up to the one starting at the reference are entered; those inside the copy are not.
      while (hashed <= o) {
        table[(out[hashed] as number) ^ (out[hashed + 1] as number)] = hashed;
        hashed++;
      }
      o += count;
      hashed = o;
    }
    mask = (mask << 1) & 0xff;
  }
}

function writeU32(buf: Buffer, offset: number, value: number, little: boolean): void {
  if (little) buf.writeUInt32LE(value, offset);
  else buf.writeUInt32BE(value, offset);
}

function corrupt(message: string): IpcDecodeError {
  return new IpcDecodeError('IPC_ERR_COMPRESSION', message);
}
