// Reads one day's journal forward from a record, as the file grows: the primary's bridge publishes what it
// reads, so what reaches the stream is what the journal holds, byte for byte, whether live or catching up.
// Record boundaries are found by skipping one q object each (no decoding). Spec: kx tick log (-11!) format.
import fs from 'node:fs';
import { IpcDecodeError } from '../errors.js';
import { skipValue } from '../ipc/index.js';
import { JOURNAL_HEADER_BYTES } from '../journal/index.js';

export class JournalTail {
  private fd: number | undefined;
  /** File offset of the next record to read. */
  offset = JOURNAL_HEADER_BYTES;
  /** Index of the next record to read. */
  index = 0;
  private buf = Buffer.allocUnsafe(1 << 20);

  /** `marks`: where this reader finds records begin is noted there, as day `date`'s journal (TailMarks.reader). */
  constructor(readonly path: string, private readonly marks?: { readonly at: TailMarks; readonly date: number }) {}

  /** Opens the file; false when it does not exist (a day without records). */
  open(): boolean {
    if (this.fd !== undefined) return true;
    try {
      this.fd = fs.openSync(this.path, 'r');
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Starts at a record boundary known from an earlier reader of this file (TailMarks): record `index` begins at byte `offset`. */
  startAt(index: number, offset: number): void {
    this.index = index;
    this.offset = offset;
  }

  /** Skips records until `index` (a resume point): false when the file holds fewer. */
  seek(index: number): boolean {
    while (this.index < index) {
      const got = this.read(Math.min(index - this.index, 4096), 64 << 20, () => {});
      if (got === 0) return false;
    }
    return true;
  }

  /**
   * Calls onRecord for up to `maxRecords` whole records (about `maxBytes` at most, but always at least one
   * whole record) from the current position; returns how many. A record still being written stops it.
   */
  read(maxRecords: number, maxBytes: number, onRecord: (record: Buffer, index: number) => void): number {
    if (!this.open()) return 0;
    const fd = this.fd as number;
    let n = 0;
    for (;;) {
      const have = fs.readSync(fd, this.buf, 0, this.buf.length, this.offset);
      let p = 0;
      while (p < have && n < maxRecords && p < maxBytes) {
        let end: number;
        try {
          end = skipValue(this.buf, p, have);
        } catch (err) {
          if (err instanceof IpcDecodeError && err.code === 'IPC_ERR_TRUNCATED') break;
          throw err;
        }
        // A copy: the buffer is reused by the next read while the publish may still hold it.
        onRecord(Buffer.from(this.buf.subarray(p, end)), this.index);
        this.index++;
        n++;
        p = end;
        this.marks?.at.note(this.marks.date, this.index, this.offset + p);
      }
      this.offset += p;
      // A record bigger than the buffer: grow it once and read again.
      if (n === 0 && p === 0 && have === this.buf.length) {
        this.buf = Buffer.allocUnsafe(this.buf.length * 2);
        continue;
      }
      return n;
    }
  }

  /** The file's size: with offset, whether everything written was read. */
  size(): number {
    if (!this.open()) return JOURNAL_HEADER_BYTES;
    return fs.fstatSync(this.fd as number).size;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Bytes of journal between two marks (TailMarks). */
const MARK_BYTES = 1 << 20;

/**
 * Where records begin in one day's journal, a mark (record index, file offset) per `every` bytes read:
 * a reader that must start at record i (the bridge resyncing after NATS came back) starts from the last
 * mark before it, not by skipping every record from the header (about a second per GB, with the
 * loop blocked). A mark stays true while the process runs: the file only grows past what was read (a
 * failed write is cut back to its last flush, and the bridge reads no further than that).
 */
export class TailMarks {
  private date = -1;
  private indexes: number[] = [];
  private offsets: number[] = [];

  constructor(private readonly every = MARK_BYTES) {}

  /** Notes that in day `date`'s journal record `index` begins at byte `offset` (kept if far enough past the last mark). */
  note(date: number, index: number, offset: number): void {
    if (date !== this.date) {
      this.date = date;
      this.indexes = [];
      this.offsets = [];
    }
    const n = this.offsets.length;
    const last = n > 0 ? this.offsets[n - 1] as number : JOURNAL_HEADER_BYTES;
    if (offset - last >= this.every) {
      this.indexes.push(index);
      this.offsets.push(offset);
    }
  }

  /** A reader of day `date`'s journal at `path`, placed at the last mark at or before record `index` (else at the start). */
  reader(path: string, date: number, index: number): JournalTail {
    const tail = new JournalTail(path, { at: this, date });
    if (date !== this.date) return tail;
    let lo = 0;
    let hi = this.indexes.length; // the first mark past index is at hi
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.indexes[mid] as number) <= index) lo = mid + 1; else hi = mid;
    }
    if (lo > 0) tail.startAt(this.indexes[lo - 1] as number, this.offsets[lo - 1] as number);
    return tail;
  }
}
