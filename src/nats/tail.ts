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

  constructor(readonly path: string) {}

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
