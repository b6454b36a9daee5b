// The tickerplant log's bytes and names: the 8-byte file header, record payloads and the file name.
// Spec: code.kx.com/q/kb/logging (layout); KxSystems/kdb-tick tick.q (.u.L naming: DST/SRC yyyy.mm.dd).
import { encodePayload } from '../ipc/encode.js';
import { formatQDate } from '../ipc/temporal.js';
import type { QValue } from '../ipc/values.js';

/** What `L set ()` writes: file magic ff 01, then the empty list's type, attribute and count (never updated). */
export const JOURNAL_HEADER: Readonly<Buffer> = Buffer.from([0xff, 0x01, 0, 0, 0, 0, 0, 0]);
export const JOURNAL_HEADER_BYTES = 8;

/**
 * True when `buf` starts like a log q can stream: magic ff 01 and a general list (type 0). The
 * attribute and count bytes are not checked, since q never maintains them.
 */
export function isJournalHeader(buf: Uint8Array): boolean {
  return buf.length >= JOURNAL_HEADER_BYTES && buf[0] === 0xff && buf[1] === 0x01 && buf[2] === 0;
}

/** tick.q's log file: DST/SRC followed by the date, e.g. `./sym2024.01.02`. */
export function logPath(dir: string, src: string, qDate: number): string {
  return `${dir}/${src}${formatQDate(qDate)}`;
}

/** The `.u.L` text of a log path: a q file symbol, i.e. the path with a leading colon. */
export function logSymbol(path: string): string {
  return path.startsWith(':') ? path : `:${path}`;
}

/**
 * Payload bytes of `(`upd;table;data)`: one journal record (what tick.q appends with `l enlist (...)`).
 * The whole 3-item list is encoded in one pass, so the only allocation is the returned Buffer.
 * (Measured against "cached prefix + encodePayload(data) + copy": no faster, and two allocations.)
 */
export function updRecord(table: string, data: QValue): Buffer {
  return encodePayload({ type: 0, attr: 0, items: [{ type: -11, value: 'upd' }, { type: -11, value: table }, data] });
}
