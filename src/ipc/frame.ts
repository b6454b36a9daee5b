// The 8-byte message header and whole-message decoding (decompressing first when flagged).
// Spec: code.kx.com/q/basics/ipc (header, compression).
import { IpcDecodeError } from '../errors.js';
import { decompress, decompressPrefix } from './compress.js';
import { decodePayload } from './decode.js';
import { HEADER_BYTES } from './encode.js';
import type { MsgType } from './types.js';
import type { QValue } from './values.js';

export interface Header {
  readonly littleEndian: boolean;
  readonly msgType: MsgType;
  readonly compressed: boolean;
  /** Total bytes on the wire, header included. */
  readonly length: number;
}

export interface Message {
  readonly msgType: MsgType;
  readonly value: QValue;
  /** The whole message, decompressed (header included): lets callers reuse bytes instead of re-encoding. */
  readonly body: Buffer;
  readonly littleEndian: boolean;
}

export interface MessageLimits {
  /** Largest message accepted, after decompression. */
  readonly maxMessageBytes: number;
  readonly maxDepth: number;
}

export function readHeader(frame: Buffer): Header {
  if (frame.length < HEADER_BYTES) throw new IpcDecodeError('IPC_ERR_TRUNCATED', 'short header');
  const littleEndian = frame[0] === 1;
  const msgType = frame[1] as number;
  const flag = frame[2] as number;
  if (msgType > 2 || flag > 1) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', 'bad header');
  const length = littleEndian ? frame.readUInt32LE(4) : frame.readUInt32BE(4);
  return { littleEndian, msgType: msgType as MsgType, compressed: flag === 1, length };
}

/** What `admit` is shown of a compressed message before the whole is expanded: a call form's name lies within. */
export const ADMIT_PREFIX_BYTES = 128;

/**
 * Decodes one complete frame (as the Framer delivers it). `admit` sees the message (decompressed, header
 * first) before its value is built, and may throw to refuse it; of a compressed one it sees the first
 * ADMIT_PREFIX_BYTES, so a refused message is never expanded whole.
 */
export function decodeMessage(frame: Buffer, limits: MessageLimits, admit?: (body: Buffer) => void): Message {
  const header = readHeader(frame);
  if (header.length !== frame.length) throw new IpcDecodeError('IPC_ERR_BAD_LENGTH', 'length mismatch');
  let body = frame;
  if (header.compressed) {
    if (admit) admit(decompressPrefix(frame, ADMIT_PREFIX_BYTES, limits.maxMessageBytes));
    body = decompress(frame, limits.maxMessageBytes);
  } else {
    admit?.(body);
  }
  const value = decodePayload(body, HEADER_BYTES, body.length, {
    littleEndian: header.littleEndian,
    maxDepth: limits.maxDepth,
  });
  return { msgType: header.msgType, value, body, littleEndian: header.littleEndian };
}
