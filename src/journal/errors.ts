// Journal errors: a corrupt log (tick.q's stderr text) and I/O failures while writing or repairing.
// Spec: KxSystems/kdb-tick tick.q (.u.ld's corrupt-log message); code.kx.com/q/basics/internal (-11!(-2;L)).
import { TpError } from '../errors.js';
import { logSymbol } from './format.js';

/** The log's valid prefix ends before its end: tick.q prints this message and exits 1. */
export class JournalCorruptError extends TpError {
  readonly path: string;
  /** Whole records in the valid prefix. */
  readonly chunks: number;
  /** Length of the valid prefix, header included: what to truncate the file to. */
  readonly validBytes: number;
  constructor(path: string, chunks: number, validBytes: number) {
    super('JOURNAL_ERR_CORRUPT', `${logSymbol(path)} is a corrupt log. Truncate to length ${validBytes} and restart`);
    this.path = path;
    this.chunks = chunks;
    this.validBytes = validBytes;
  }
}

/** A failed read, write, sync or truncate of the log file. */
export function journalIoError(path: string, action: string, cause: unknown): TpError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new TpError('JOURNAL_ERR_IO', `journal ${path}: ${action} failed: ${why}`, { cause });
}
