// The durable append-only files of the money model (the invoice book, the ledger): one JSON line per
// record, written and fsync'd before append() returns, so a record that append() accepted survives a
// crash. Injectable so tests can make the disk fail (ENOSPC, EIO) on cue.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AppendFile {
  readonly path: string;
  /** The complete lines already in the file (a torn last line after a crash is left out). */
  readLines(): string[];
  /** Appends text (whole lines) and fsyncs; throws the system error (ENOSPC, EIO, EROFS...) on failure. */
  append(text: string): void;
  /** Replaces the whole file atomically (write a temporary file, fsync, rename). */
  replace(text: string): void;
  close(): void;
}

/**
 * Cuts an unterminated last line off the file open as fd (read and write): the bytes of an append that
 * failed part-way (a short write before ENOSPC) or that a crash cut short. That append never returned,
 * so nothing relied on it; left in place, the next line would be written onto it and both lost.
 */
function cutTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  const one = Buffer.alloc(1);
  if (size === 0 || (readSync(fd, one, 0, 1, size - 1) === 1 && one[0] === 0x0a)) return;
  const block = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - block.length);
    const n = readSync(fd, block, 0, end - start, start);
    const nl = block.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) { ftruncateSync(fd, start + nl + 1); return; }
    end = start;
  }
  ftruncateSync(fd, 0);
}

/** Writes all of text: writeSync may write part of it (a disk filling up) and throw only on the next call. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * The real file. Opened on first append, when a torn last line is cut off; after a failed write the
 * descriptor is closed and the next append reopens it (and so cuts what the failure left, whole lines
 * too when the take-back failed).
 */
export function openAppendFile(path: string): AppendFile {
  let fd: number | undefined;
  /** Where a failed append began, when taking it back failed too: the file is cut there before the next. */
  let cutTo: number | undefined;
  const close = (): void => {
    if (fd === undefined) return;
    try { closeSync(fd); } catch { /* already unusable */ }
    fd = undefined;
  };
  return {
    path,
    readLines() {
      if (!existsSync(path)) return [];
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n');
      lines.pop(); // '' after the last newline, or a torn last line
      return lines.filter((l) => l.trim() !== '');
    },
    append(text) {
      let size: number | undefined;
      try {
        if (fd === undefined) {
          mkdirSync(dirname(path), { recursive: true });
          fd = openSync(path, 'a+', 0o600);
          if (cutTo !== undefined && fstatSync(fd).size > cutTo) ftruncateSync(fd, cutTo);
          cutTo = undefined;
          cutTornTail(fd);
        }
        size = fstatSync(fd).size;
        writeAll(fd, text);
        fsyncSync(fd);
      } catch (err) {
        // All of it or none: whole lines of a failed append left in place would be written again by the
        // retry (the same payment twice in the ledger file).
        if (fd !== undefined && size !== undefined) try { ftruncateSync(fd, size); } catch { cutTo = size; }
        close();
        throw err;
      }
    },
    replace(text) {
      close();
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.tmp`;
      const t = openSync(tmp, 'w', 0o600);
      try {
        writeAll(t, text);
        fsyncSync(t);
      } catch (err) {
        // A short copy renamed over the file would lose the records it lacks: the old file stays.
        closeSync(t);
        try { unlinkSync(tmp); } catch { /* gone already */ }
        throw err;
      }
      closeSync(t);
      renameSync(tmp, path);
    },
    close,
  };
}

/** The system error code of a failed write (ENOSPC, EIO, ...), for logs and metrics. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}

export interface RetryingWriterOptions {
  readonly file: AppendFile;
  /** Schedules the next retry (the injected clock's `after`). */
  readonly after: (ms: number, fn: () => void) => { cancel(): void };
  readonly log: { error(o: object, msg: string): void; info(o: object, msg: string): void };
  /** [5000] ms between retries while the disk refuses. */
  readonly retryMs?: number;
}

/**
 * Lines that must reach the file: a line the disk refuses is kept in memory, in order, and retried
 * until it is written. Never throws (a full disk must not crash the process); `unwritten` and
 * `failures` are what metrics and alerts read. writeNow() is the write-ahead variant that does throw.
 */
export class RetryingWriter {
  private readonly queue: string[] = [];
  private retry: { cancel(): void } | undefined;
  /** Writes the disk refused (each attempt counts once). */
  failures = 0;
  private degraded = false;

  constructor(private readonly o: RetryingWriterOptions) {}

  get path(): string { return this.o.file.path; }
  /** Lines kept in memory because the disk refused them. */
  get unwritten(): number { return this.queue.length; }

  /** Appends, or keeps the line and retries later. */
  write(line: string): void {
    this.queue.push(line);
    this.flush();
  }

  /** Appends now or throws (after the lines already waiting, so order is kept). */
  writeNow(line: string): void {
    this.flush();
    if (this.queue.length > 0) throw new Error(`${this.queue.length} earlier lines are still unwritten`);
    try {
      this.o.file.append(line);
    } catch (err) {
      this.failed(err, 'payment record not written');
      throw err;
    }
    this.recovered(1);
  }

  /** Tries to write what is waiting; on failure keeps it and arms one retry. */
  flush(): void {
    if (this.queue.length === 0) return;
    try {
      this.o.file.append(this.queue.join(''));
    } catch (err) {
      this.failed(err, 'payment record not written; kept in memory, retrying');
      this.retry ??= this.o.after(this.o.retryMs ?? 5000, () => { this.retry = undefined; this.flush(); });
      return;
    }
    const n = this.queue.length;
    this.queue.length = 0;
    if (this.retry) { this.retry.cancel(); this.retry = undefined; }
    this.recovered(n);
  }

  /**
   * One line when the disk starts refusing, one when it takes records again: each refused attempt (a
   * retry, or a buyer's .u.sub while the disk is full) is counted in `failures`, not logged.
   */
  private failed(err: unknown, msg: string): void {
    this.failures++;
    if (!this.degraded) this.o.log.error({ file: this.path, code: errorCode(err), unwritten: this.queue.length }, msg);
    this.degraded = true;
  }

  private recovered(written: number): void {
    if (this.degraded) this.o.log.info({ file: this.path, written }, 'payment records written after a disk failure');
    this.degraded = false;
  }

  /** Writes what is waiting, a last time, and closes; returns the records that could not be written (lost). */
  close(): number {
    this.flush();
    this.retry?.cancel();
    this.retry = undefined;
    const lost = this.queue.length;
    if (lost > 0) this.o.log.error({ file: this.path, lost }, 'payment records not written at shutdown');
    this.queue.length = 0;
    this.o.file.close();
    return lost;
  }
}
