// tick.q's .u.ld for one log file: validate (-11!(-2;L)), refuse or truncate a corrupt tail, open to append.
// Spec: KxSystems/kdb-tick tick.q (.u.ld); code.kx.com/q/basics/internal (-11!(-2;L)).
import fs, { mkdirSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { EPOCH_OFFSET_DAYS } from '../ipc/types.js';
import { JournalCorruptError } from './errors.js';
import { truncate, validate } from './reader.js';
import { JournalWriter } from './writer.js';
import type { FsyncPolicy, JournalIo } from './writer.js';

export interface OpenJournalOptions {
  /** Cut a corrupt tail off instead of throwing JournalCorruptError. */
  readonly truncate: boolean;
  readonly fsync: FsyncPolicy;
  readonly log?: Pick<Logger, 'info' | 'warn'>;
  /** The writer's system calls (tests fail them as a full disk does). [node:fs] */
  readonly io?: JournalIo;
}

export interface OpenedJournal {
  readonly writer: JournalWriter;
  /** Valid records in the file: where .u.i and .u.j start. */
  readonly chunks: number;
  /** The file's length before a corrupt tail was truncated. */
  readonly truncatedFrom?: number;
}

/**
 * Opens (creating if missing) the log at `path`. A zero-byte file is treated like a missing one and
 * gets a header: it holds nothing to lose, and q's own advice for a bad header ("Truncate to length 0")
 * leaves exactly such a file.
 */
export function openJournal(path: string, options: OpenJournalOptions): OpenedJournal {
  const { log } = options;
  if (!fs.existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 }); // tick.q's DST is created if missing (q's set does)
    const writer = JournalWriter.open(path, { fsync: options.fsync, ...(options.io ? { io: options.io } : {}) });
    log?.info({ path }, 'journal created');
    return { writer, chunks: 0 };
  }
  const v = validate(path);
  let truncatedFrom: number | undefined;
  if (!v.ok && v.fileBytes > 0) {
    if (!options.truncate) throw new JournalCorruptError(path, v.chunks, v.validBytes);
    truncate(path, v.validBytes);
    truncatedFrom = v.fileBytes;
    log?.warn({ path, chunks: v.chunks, validBytes: v.validBytes, fileBytes: v.fileBytes }, 'journal tail truncated');
  }
  const writer = JournalWriter.open(path, { fsync: options.fsync, records: v.chunks, ...(options.io ? { io: options.io } : {}) });
  log?.info({ path, chunks: v.chunks }, 'journal opened');
  return truncatedFrom === undefined ? { writer, chunks: v.chunks } : { writer, chunks: v.chunks, truncatedFrom };
}

/**
 * The newest date among `dir`'s logs of `src` (files named SRC + yyyy.mm.dd, as logPath names them), or
 * undefined when there is none (or the directory is missing).
 */
export function newestLogDate(dir: string, src: string): number | undefined {
  let names: string[];
  try { names = readdirSync(dir); } catch { return undefined; }
  let newest: number | undefined;
  for (const name of names) {
    const m = name.length === src.length + 10 && name.startsWith(src) ? /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(name.slice(src.length)) : null;
    if (!m) continue;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    const days = Math.round(ms / 86_400_000) - EPOCH_OFFSET_DAYS;
    if (Number.isFinite(days) && (newest === undefined || days > newest)) newest = days;
  }
  return newest;
}
