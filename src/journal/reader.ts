// Reads a tickerplant log without loading it: q's -11!(-2;L) (count valid records) and -11!(n;L)
// (replay them), plus truncation of a bad tail. Spec: code.kx.com/q/kb/logging, code.kx.com/q/basics/internal (-11!).
import fs from 'node:fs';
import { IpcDecodeError } from '../errors.js';
import { decodePayload, skipValue } from '../ipc/decode.js';
import type { QValue } from '../ipc/values.js';
import { journalIoError } from './errors.js';
import { isJournalHeader, JOURNAL_HEADER_BYTES } from './format.js';

export { JournalCorruptError } from './errors.js';

export interface ReadOptions {
  /** Bytes read per block; a record larger than this grows the block. [blockBytes=8 MiB] */
  readonly blockBytes?: number;
  /**
   * The block never grows past this, so a longer record counts as corrupt (an IPC message framed with an
   * int32 length cannot be longer). [maxRecordBytes=2 GiB − 1]
   */
  readonly maxRecordBytes?: number;
}

export interface ValidateResult {
  /** Whole, well-formed records from offset 8 up to the first bad one. */
  readonly chunks: number;
  /** End of the last good record (header included): the length to truncate to. 0 if the header is bad. */
  readonly validBytes: number;
  readonly fileBytes: number;
  /** validBytes === fileBytes, and the file has a header. */
  readonly ok: boolean;
}

export interface ReplayOptions extends ReadOptions {
  /** Deliver at most this many records (-11!(n;L)); negative or absent: all. Skipped records count. */
  readonly limit?: number;
  /** Records before this index are walked over, not decoded (a reader resuming at a position). [0] */
  readonly from?: number;
  /** Called after each block is read and once at the end, with the bytes of good records so far. */
  readonly onProgress?: (bytesDone: number, fileBytes: number) => void;
}

export interface ReplayResult {
  readonly chunks: number;
  readonly validBytes: number;
  /** No bad record met before stopping (with a limit, bytes after the limit are not examined). */
  readonly ok: boolean;
}

export const DEFAULT_BLOCK_BYTES = 8 << 20;
const DEFAULT_MAX_RECORD_BYTES = 0x7fffffff;

/**
 * -11!(-2;L). A file shorter than 8 bytes or not starting `ff 01 00` (a q list file) is corrupt with
 * chunks 0 and validBytes 0: truncating it to 0 is what the repair message then asks for, and an empty
 * file is re-created with a header by openJournal.
 */
export function validate(path: string, options: ReadOptions = {}): ValidateResult {
  return finish(walk(path, options, -1, false, undefined));
}

/** -11!(n;L): decodes and delivers each good record in order; errors thrown by onRecord propagate. */
export function replay(path: string, onRecord: (record: QValue, index: number) => void,
  options: ReplayOptions = {}): ReplayResult {
  const it = walk(path, options, options.limit ?? -1, true, options.onProgress);
  let index = options.from ?? 0;
  try {
    for (let step = it.next(); ; step = it.next()) {
      if (step.done) return { chunks: step.value.chunks, validBytes: step.value.validBytes, ok: step.value.ok };
      onRecord(step.value, index++);
    }
  } finally {
    it.return({ chunks: 0, validBytes: 0, fileBytes: 0, ok: false }); // closes the file if onRecord threw
  }
}

/**
 * -11!(n;L) one record at a time: the caller pulls, so it can wait (e.g. for a socket to drain) between
 * records with only one block in memory. The generator's return value is the ReplayResult. The file is
 * closed when the generator finishes or is returned early.
 */
export function* records(path: string, options: ReplayOptions = {}): Generator<QValue, ReplayResult, undefined> {
  const r = yield* walk(path, options, options.limit ?? -1, true, options.onProgress);
  return { chunks: r.chunks, validBytes: r.validBytes, ok: r.ok };
}

/** Runs a walk that yields nothing (validation) to its result. */
function finish(it: Generator<QValue, ValidateResult, undefined>): ValidateResult {
  for (;;) {
    const step = it.next();
    if (step.done) return step.value;
  }
}

/** Cuts the file to its valid prefix (validate's validBytes) and syncs it. */
export function truncate(path: string, validBytes: number): void {
  if (!Number.isSafeInteger(validBytes) || validBytes < 0) throw new RangeError(`bad journal length ${validBytes}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r+');
    const size = fs.fstatSync(fd).size;
    if (validBytes > size) throw new RangeError(`journal ${path} has ${size} bytes, cannot truncate to ${validBytes}`);
    fs.ftruncateSync(fd, validBytes);
    fs.fsyncSync(fd);
  } catch (err) {
    if (err instanceof RangeError) throw err;
    throw journalIoError(path, 'truncate', err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Walks records from offset 8 through a reusable block buffer. The block holds file bytes
 * [base, base + have); `p` is the start of the next record inside it. A record cut by the block's
 * end moves to the front of the block (growing it if the record alone fills it) and more is read.
 */
function* walk(path: string, options: ReadOptions & { readonly from?: number }, limit: number, decode: boolean,
  onProgress: ((bytesDone: number, fileBytes: number) => void) | undefined): Generator<QValue, ValidateResult, undefined> {
  const blockBytes = Math.max(16, options.blockBytes ?? DEFAULT_BLOCK_BYTES);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const from = options.from ?? 0;
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw journalIoError(path, 'open', err);
  }
  try {
    let fileBytes = fileSize(path, fd);
    const head = Buffer.alloc(JOURNAL_HEADER_BYTES);
    if (fileBytes < JOURNAL_HEADER_BYTES || readFully(path, fd, head, 0, JOURNAL_HEADER_BYTES, 0) < JOURNAL_HEADER_BYTES ||
      !isJournalHeader(head)) {
      return { chunks: 0, validBytes: 0, fileBytes, ok: false };
    }
    let buf = Buffer.allocUnsafe(Math.max(1, Math.min(blockBytes, fileBytes - JOURNAL_HEADER_BYTES)));
    let base = JOURNAL_HEADER_BYTES;
    let have = 0;
    let p = 0;
    let chunks = 0;
    let bad = false;
    while (chunks !== limit && base + p < fileBytes) {
      let end: number;
      try {
        end = skipValue(buf, p, have);
      } catch (err) {
        if (!(err instanceof IpcDecodeError)) throw err;
        const atEof = base + have >= fileBytes;
        if (err.code !== 'IPC_ERR_TRUNCATED' || atEof) { bad = true; break; }
        // The record runs past the block: keep its start, make room, read on.
        if (p > 0) {
          buf.copy(buf, 0, p, have);
          base += p;
          have -= p;
          p = 0;
        }
        if (have === buf.length) {
          if (have >= maxRecordBytes) { bad = true; break; }
          const grown = Buffer.allocUnsafe(Math.min(buf.length * 2, fileBytes - base, maxRecordBytes));
          buf.copy(grown, 0, 0, have);
          buf = grown;
        }
        const want = Math.min(buf.length - have, fileBytes - base - have);
        const got = readFully(path, fd, buf, have, want, base + have);
        have += got;
        if (got < want) fileBytes = base + have; // the file shrank under us: stop at what is there
        onProgress?.(base + p, fileBytes);
        continue;
      }
      if (decode && chunks >= from) {
        let value: QValue;
        try {
          value = decodePayload(buf, p, end);
        } catch (err) {
          if (!(err instanceof IpcDecodeError)) throw err;
          bad = true;
          break;
        }
        chunks++;
        p = end;
        yield value; // the block may move or grow while the caller waits: p and base stay right
        continue;
      }
      chunks++;
      p = end;
    }
    const validBytes = base + p;
    onProgress?.(validBytes, fileBytes);
    return { chunks, validBytes, fileBytes, ok: !bad && (chunks === limit || validBytes === fileBytes) };
  } finally {
    fs.closeSync(fd);
  }
}

function fileSize(path: string, fd: number): number {
  try {
    return fs.fstatSync(fd).size;
  } catch (err) {
    throw journalIoError(path, 'stat', err);
  }
}

/** pread until `n` bytes or end of file; returns the bytes read. */
function readFully(path: string, fd: number, buf: Buffer, offset: number, n: number, position: number): number {
  let got = 0;
  try {
    while (got < n) {
      const r = fs.readSync(fd, buf, offset + got, n - got, position + got);
      if (r === 0) break;
      got += r;
    }
  } catch (err) {
    throw journalIoError(path, 'read', err);
  }
  return got;
}
