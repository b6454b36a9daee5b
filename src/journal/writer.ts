// Appends records to a tickerplant log: staged in memory, written whole with one write per flush,
// optionally fdatasync'ed. Spec: code.kx.com/q/kb/logging (append-only, header fixed).
import fs from 'node:fs';
import { dirname } from 'node:path';
import { TpError } from '../errors.js';
import { JournalCorruptError, journalIoError } from './errors.js';
import { JOURNAL_HEADER, JOURNAL_HEADER_BYTES } from './format.js';

/** none: never sync; batch: fdatasync after each flush that wrote; record: write + fdatasync per append. */
export type FsyncPolicy = 'none' | 'batch' | 'record';

export interface JournalWriterOptions {
  readonly fsync: FsyncPolicy;
  /** Records already in the file (from validate); `records` counts on from here. [records=0] */
  readonly records?: number;
  /** The system calls, replaceable so tests can fail them as a full disk does. [node:fs] */
  readonly io?: JournalIo;
}

/** The calls the writer makes on its file descriptor. */
export interface JournalIo {
  writeSync(fd: number, buf: Buffer, offset: number, length: number): number;
  fdatasyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
}

const FS_IO: JournalIo = {
  writeSync: (fd, buf, offset, length) => fs.writeSync(fd, buf, offset, length),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
};

/** Pending bytes that trigger a flush from append (records are staged until then). */
export const AUTO_FLUSH_BYTES = 1 << 20;

export class JournalWriter {
  readonly path: string;
  readonly fsync: FsyncPolicy;
  private fd: number | undefined;
  private readonly staging: Buffer;
  private pending = 0;
  private written: number;
  private count: number;
  private unsynced = false;
  /**
   * The file's length and records after the last write (and sync, by policy) that succeeded. A failed
   * write or sync rolls everything after it back, staged and written alike, so that what the caller
   * published since then can be withdrawn as one: the file never keeps a record the caller was told failed.
   */
  private durableBytes: number;
  private durableRecords: number;
  /** A rollback's ftruncate failed: the file has a tail to cut before anything else is appended. */
  private tailToCut = false;

  private constructor(path: string, fd: number, fsync: FsyncPolicy, size: number, records: number,
    private readonly io: JournalIo) {
    this.path = path;
    this.fd = fd;
    this.fsync = fsync;
    this.staging = Buffer.allocUnsafe(fsync === 'record' ? 0 : AUTO_FLUSH_BYTES);
    this.written = size;
    this.count = records;
    this.durableBytes = size;
    this.durableRecords = records;
  }

  /**
   * Opens `path` for appending. A missing or empty file gets the header first (tick.q's `.[L;();:;()]`);
   * an existing file is trusted as validated by the caller (see openJournal).
   */
  static open(path: string, options: JournalWriterOptions): JournalWriter {
    let fd: number;
    try {
      // Owner and group only: the journal holds every row of the priced tables (the ledger and the book
      // are 0600). An existing file keeps its mode.
      fd = fs.openSync(path, 'a', 0o640);
    } catch (err) {
      throw journalIoError(path, 'open', err);
    }
    const io = options.io ?? FS_IO;
    try {
      let size = fs.fstatSync(fd).size;
      if (size > 0 && size < JOURNAL_HEADER_BYTES) throw new JournalCorruptError(path, 0, 0);
      if (size === 0) {
        try {
          writeFully(io, fd, JOURNAL_HEADER, JOURNAL_HEADER_BYTES);
        } catch (err) {
          try { io.ftruncateSync(fd, 0); } catch { /* a part-header is reported as corrupt at length 0 */ }
          throw err;
        }
        size = JOURNAL_HEADER_BYTES;
        if (options.fsync !== 'none') {
          io.fdatasyncSync(fd);
          syncDirectory(path);
        }
      }
      return new JournalWriter(path, fd, options.fsync, size, options.records ?? 0, io);
    } catch (err) {
      fs.closeSync(fd);
      if (err instanceof TpError) throw err;
      throw journalIoError(path, 'create', err);
    }
  }

  /** Records in the file, including staged ones. */
  get records(): number { return this.count; }
  /** File size once staged records are written. */
  get bytes(): number { return this.written + this.pending; }
  /** Bytes staged and not yet written. */
  get pendingBytes(): number { return this.pending; }
  /** Whether a flush has anything to do: staged bytes, an unsynced write, or a failed write's tail to cut. */
  get dirty(): boolean { return this.pending > 0 || this.unsynced || this.tailToCut; }
  /** Records accepted since the last successful flush (what a failure now would roll back). */
  get undurableRecords(): number { return this.count - this.durableRecords; }
  get closed(): boolean { return this.fd === undefined; }

  /**
   * Adds one record (a payload from updRecord). If this throws, the record was not accepted, and neither
   * was any record since the last successful flush (see durableBytes): `records` says what is left.
   */
  append(record: Buffer): void {
    const fd = this.openFd();
    const n = record.length;
    if (n === 0) throw new RangeError('a journal record cannot be empty');
    try {
      if (this.fsync === 'record') {
        this.writeAt(fd, record, n);
        this.sync(fd); // not durable: not accepted either
        this.count++;
        this.markDurable();
        return;
      }
      if (this.pending + n > this.staging.length) this.flushOrThrow(fd);
      if (n > this.staging.length) {
        this.writeAt(fd, record, n); // bigger than the stage: written alone, synced by the next flush
        this.unsynced = true;
      } else {
        record.copy(this.staging, this.pending);
        this.pending += n;
      }
      this.count++;
    } catch (err) {
      this.rollBack(fd);
      throw err;
    }
  }

  /**
   * Room to write one record of n bytes in place (no buffer of its own): the offset in `stage` to write
   * it at, then commit(n); -1 when it must go through append instead (larger than the stage, or a sync
   * per record). Flushes first when the stage is too full; if that flush throws, it rolled back as
   * flush does and nothing is reserved.
   */
  reserve(n: number): number {
    if (this.fsync === 'record' || n > this.staging.length || n === 0) return -1;
    this.openFd(); // a closed journal throws here, as append does
    if (this.pending + n > this.staging.length) this.flush();
    return this.pending;
  }

  /** The stage reserve() points into. */
  get stage(): Buffer { return this.staging; }

  /** Accepts the record just written at reserve()'s offset. */
  commit(n: number): void {
    this.pending += n;
    this.count++;
  }

  /**
   * Writes every staged record with one write; under 'batch' then fdatasyncs. If this throws, every
   * record since the last successful flush is gone from the stage and the file (see durableBytes).
   */
  flush(): void {
    const fd = this.openFd();
    try {
      this.flushOrThrow(fd);
    } catch (err) {
      this.rollBack(fd);
      throw err;
    }
  }

  private flushOrThrow(fd: number): void {
    if (this.tailToCut) {
      if (!this.cutBack(fd, this.durableBytes)) throw journalIoError(this.path, 'cutting a failed write', 'ftruncate failed');
      this.tailToCut = false;
    }
    if (this.pending > 0) {
      this.writeAt(fd, this.staging, this.pending);
      this.pending = 0;
      this.unsynced = true;
    }
    if (this.unsynced) {
      if (this.fsync !== 'none') this.sync(fd);
      this.unsynced = false;
    }
    this.markDurable();
  }

  private markDurable(): void {
    this.durableBytes = this.written;
    this.durableRecords = this.count;
  }

  /** Back to the last durable state: the stage emptied, the file cut to its durable length. */
  private rollBack(fd: number): void {
    this.pending = 0;
    this.unsynced = false;
    this.count = this.durableRecords;
    if (this.written !== this.durableBytes || this.tailToCut) {
      this.tailToCut = !this.cutBack(fd, this.durableBytes);
    }
    this.written = this.durableBytes;
  }

  /** Flushes and closes. The file is closed even if the final flush throws (its records are then lost). */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    try {
      this.flush();
    } finally {
      this.fd = undefined;
      this.pending = 0;
      try { fs.closeSync(fd); } catch { /* the flush error, if any, is the one to report */ }
    }
  }

  private openFd(): number {
    if (this.fd === undefined) throw new TpError('JOURNAL_ERR_IO', `journal ${this.path}: closed`);
    return this.fd;
  }

  /** Appends buf[0, n). On failure cuts the file back to its last whole record, then throws. */
  private writeAt(fd: number, buf: Buffer, n: number): void {
    try {
      writeFully(this.io, fd, buf, n);
    } catch (err) {
      const cut = this.cutBack(fd, this.written);
      if (!cut) this.tailToCut = true;
      throw journalIoError(this.path, cut ? 'write' : 'write (and cutting the partial record; validate will find it)', err);
    }
    this.written += n;
  }

  /** Best-effort ftruncate to `size`; false if even that failed. */
  private cutBack(fd: number, size: number): boolean {
    try {
      this.io.ftruncateSync(fd, size);
      return true;
    } catch {
      return false;
    }
  }

  private sync(fd: number): void {
    try {
      this.io.fdatasyncSync(fd);
    } catch (err) {
      throw journalIoError(this.path, 'fdatasync', err);
    }
  }
}

/** write(2) until all n bytes are out; the file is O_APPEND so each call lands at the end. */
function writeFully(io: JournalIo, fd: number, buf: Buffer, n: number): void {
  let off = 0;
  while (off < n) {
    const w = io.writeSync(fd, buf, off, n - off);
    if (w <= 0) throw new Error('write returned 0 bytes');
    off += w;
  }
}

/** Makes a new file's directory entry durable. Best effort: some filesystems refuse to sync a directory. */
function syncDirectory(path: string): void {
  let dfd: number | undefined;
  try {
    dfd = fs.openSync(dirname(path), 'r');
    fs.fsyncSync(dfd);
  } catch {
    // ignored: the data itself was synced
  } finally {
    if (dfd !== undefined) fs.closeSync(dfd);
  }
}
