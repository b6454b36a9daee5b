// The tickerplant log (journal): file format, writer, reader (-11!) and tick.q's open-or-repair.
// Spec: code.kx.com/q/kb/logging (the log file, -11!); KxSystems/kdb-tick tick.q (.u.ld).
export { JOURNAL_HEADER, JOURNAL_HEADER_BYTES, isJournalHeader, logPath, logSymbol, updRecord } from './format.js';
export { JournalWriter, AUTO_FLUSH_BYTES, type FsyncPolicy, type JournalIo, type JournalWriterOptions } from './writer.js';
export {
  validate, replay, records, truncate, DEFAULT_BLOCK_BYTES,
  type ReadOptions, type ValidateResult, type ReplayOptions, type ReplayResult,
} from './reader.js';
export { JournalCorruptError } from './errors.js';
export { newestLogDate, openJournal, type OpenJournalOptions, type OpenedJournal } from './open.js';
