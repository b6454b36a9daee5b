// Splits a byte stream into whole IPC messages using the 8-byte header, validating it before allocating.
// Spec: code.kx.com/q/basics/ipc (message header, capability ≤ 3).
import { IpcDecodeError, TpError, type ErrorCode } from '../errors.js';

const HEADER = 8;
/** First allocation for a frame that spans chunks; it grows as its bytes arrive. */
const INITIAL_FRAME_BYTES = 64 * 1024;

export interface FramerOptions {
  /** Largest total message length (header included) accepted from the header's length field. */
  readonly maxMessageBytes: number;
}

/**
 * Incremental framer. Frames wholly inside one pushed chunk are delivered as zero-copy views of that
 * chunk (copy them if they must outlive it); a frame spanning chunks is assembled once into a buffer of
 * its exact length. After any error (its own or one thrown by onFrame) the framer is dead.
 */
export class Framer {
  private readonly maxMessageBytes: number;
  private readonly header = Buffer.alloc(HEADER);
  private headerFilled = 0;
  private frame: Buffer | undefined;
  private frameFilled = 0;
  /** Total length the current frame's header announced. */
  private frameLength = 0;
  private dead: { readonly code: ErrorCode; readonly message: string } | undefined;

  constructor(options: FramerOptions) {
    this.maxMessageBytes = options.maxMessageBytes;
  }

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.frame ? this.frameFilled : this.headerFilled;
  }

  /** Memory held for the incomplete frame: its buffer's size (it grows ahead of the bytes), or the header's. */
  get heldBytes(): number {
    return this.frame ? this.frame.length : this.headerFilled;
  }

  /** Bytes still missing from the incomplete frame (0 when none is started; unknown before its header: 8). */
  get missingBytes(): number {
    if (this.frame) return this.frameLength - this.frameFilled;
    return this.headerFilled > 0 ? HEADER - this.headerFilled : 0;
  }

  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (this.dead) throw new IpcDecodeError(this.dead.code, `stream already failed: ${this.dead.message}`);
    try {
      let at = (this.frame !== undefined || this.headerFilled > 0) ? this.resume(chunk, onFrame) : 0;
      while (at < chunk.length) at = this.fromChunk(chunk, at, onFrame);
    } catch (err) {
      // The rest of the chunk is lost, so the stream cannot be resynchronised.
      this.dead = err instanceof TpError
        ? { code: err.code, message: err.message }
        : { code: 'IPC_ERR_BAD_LENGTH', message: err instanceof Error ? err.message : String(err) };
      throw err;
    }
  }

  /** The frame starting at `at`: delivered as a view when whole, else kept as carry-over state. */
  private fromChunk(chunk: Buffer, at: number, onFrame: (frame: Buffer) => void): number {
    const available = chunk.length - at;
    if (available < HEADER) {
      chunk.copy(this.header, 0, at);
      this.headerFilled = available;
      return chunk.length;
    }
    const length = frameLength(chunk, at, this.maxMessageBytes);
    if (available >= length) {
      onFrame(chunk.subarray(at, at + length));
      return at + length;
    }
    this.frameFilled = chunk.copy(this.startFrame(length, available), 0, at);
    return chunk.length;
  }

  /**
   * Space for a frame that spans chunks. A header may claim up to maxMessageBytes before sending any of
   * it, so memory follows the bytes that actually arrive (doubling, capped at the claimed length).
   */
  private startFrame(length: number, arrived: number): Buffer {
    this.frameLength = length;
    this.frame = Buffer.allocUnsafe(Math.min(length, Math.max(INITIAL_FRAME_BYTES, arrived * 2)));
    return this.frame;
  }

  private ensureFrame(need: number): Buffer {
    const frame = this.frame as Buffer;
    if (need <= frame.length) return frame;
    const grown = Buffer.allocUnsafe(Math.min(this.frameLength, Math.max(need, frame.length * 2)));
    frame.copy(grown, 0, 0, this.frameFilled);
    this.frame = grown;
    return grown;
  }

  /** Continues a header or frame left over from earlier chunks; returns the offset after what it used. */
  private resume(chunk: Buffer, onFrame: (frame: Buffer) => void): number {
    let at = 0;
    if (!this.frame) {
      const take = Math.min(HEADER - this.headerFilled, chunk.length);
      chunk.copy(this.header, this.headerFilled, 0, take);
      this.headerFilled += take;
      at = take;
      if (this.headerFilled < HEADER) return at;
      const length = frameLength(this.header, 0, this.maxMessageBytes);
      this.frameFilled = this.header.copy(this.startFrame(length, HEADER + chunk.length - at), 0);
      this.headerFilled = 0;
    }
    const end = Math.min(chunk.length, at + this.frameLength - this.frameFilled);
    const frame = this.ensureFrame(this.frameFilled + end - at);
    const copied = chunk.copy(frame, this.frameFilled, at, end);
    this.frameFilled += copied;
    at += copied;
    if (this.frameFilled === this.frameLength) {
      this.frame = undefined;
      this.frameFilled = 0;
      onFrame(frame);
    }
    return at;
  }
}

/** Validates the header at `at` and returns the total message length it announces. */
function frameLength(buf: Buffer, at: number, max: number): number {
  const endian = buf[at] as number;
  const msgType = buf[at + 1] as number;
  const compressed = buf[at + 2] as number;
  if (endian > 1) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', `bad endianness byte ${endian}`);
  if (msgType > 2) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', `bad message type ${msgType}`);
  if (compressed > 1) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', `bad compression flag ${compressed}`);
  const length = endian === 1 ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
  // The payload holds at least one type byte, so a message is never shorter than 9 bytes.
  if (length <= HEADER) throw new IpcDecodeError('IPC_ERR_BAD_LENGTH', `message length ${length} is too short`);
  if (length > max) throw new IpcDecodeError('IPC_ERR_TOO_LARGE', `message length ${length} exceeds ${max}`);
  return length;
}
