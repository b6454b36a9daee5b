// The development node's invoice file: JSON lines, one full invoice record per line, appended on every
// change (add, settle, cancel); the last line for an r_hash wins. Compacted on start and close.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

import { TpError } from '../errors.js';
import type { InvoiceState } from '../payments/backend.js';

/** The dev node's view of one invoice. Immutable: a state change writes a new record for the same r_hash. */
export interface DevInvoiceRecord {
  readonly rHash: Buffer;
  readonly preimage: Buffer;
  readonly paymentSecret: Buffer;
  readonly paymentRequest: string;
  readonly addIndex: bigint;
  readonly valueSat: bigint;
  readonly memo: string;
  readonly creationDate: number;
  readonly expirySeconds: number;
  readonly state: InvoiceState;
  readonly settleIndex: bigint;
  readonly amountPaidSat: bigint;
  readonly settleDate: number;
}

const STATES: readonly InvoiceState[] = ['OPEN', 'SETTLED', 'CANCELED', 'ACCEPTED'];

function toLine(r: DevInvoiceRecord): string {
  return JSON.stringify({
    rHash: r.rHash.toString('hex'),
    preimage: r.preimage.toString('hex'),
    paymentSecret: r.paymentSecret.toString('hex'),
    paymentRequest: r.paymentRequest,
    addIndex: r.addIndex.toString(),
    valueSat: r.valueSat.toString(),
    memo: r.memo,
    creationDate: r.creationDate,
    expirySeconds: r.expirySeconds,
    state: r.state,
    settleIndex: r.settleIndex.toString(),
    amountPaidSat: r.amountPaidSat.toString(),
    settleDate: r.settleDate,
  }) + '\n';
}

/** Parses one line; undefined when it is not a well-formed record. */
function fromLine(line: string): DevInvoiceRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const o = parsed as Record<string, unknown>;
  const hex32 = (k: string): Buffer | undefined => {
    const v = o[k];
    return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? Buffer.from(v, 'hex') : undefined;
  };
  const int = (k: string): bigint | undefined => {
    const v = o[k];
    return typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v) ? BigInt(v) : undefined;
  };
  const num = (k: string): number | undefined => {
    const v = o[k];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  };
  const str = (k: string): string | undefined => {
    const v = o[k];
    return typeof v === 'string' ? v : undefined;
  };
  const rHash = hex32('rHash');
  const preimage = hex32('preimage');
  const paymentSecret = hex32('paymentSecret');
  const paymentRequest = str('paymentRequest');
  const addIndex = int('addIndex');
  const valueSat = int('valueSat');
  const memo = str('memo');
  const creationDate = num('creationDate');
  const expirySeconds = num('expirySeconds');
  const state = STATES.find((s) => s === o['state']);
  const settleIndex = int('settleIndex');
  const amountPaidSat = int('amountPaidSat');
  const settleDate = num('settleDate');
  if (rHash === undefined || preimage === undefined || paymentSecret === undefined
    || paymentRequest === undefined || addIndex === undefined || valueSat === undefined
    || memo === undefined || creationDate === undefined || expirySeconds === undefined
    || state === undefined || settleIndex === undefined || amountPaidSat === undefined
    || settleDate === undefined) return undefined;
  return {
    rHash, preimage, paymentSecret, paymentRequest, addIndex, valueSat, memo, creationDate,
    expirySeconds, state, settleIndex, amountPaidSat, settleDate,
  };
}

/** writeSync may write less than asked; loop until the whole buffer is down. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

function ioError(what: string, path: string, err: unknown): TpError {
  return new TpError('JOURNAL_ERR_IO', `cannot ${what} ${path}`, { cause: err });
}

export interface LoadedInvoices {
  /** Current record per r_hash, in ascending add_index. */
  readonly records: DevInvoiceRecord[];
  /** Lines read, including superseded ones. */
  readonly lines: number;
  /** True when the final line was cut short (a crash mid-append) and was dropped. */
  readonly tornTail: boolean;
}

export class DevInvoiceFile {
  readonly path: string;
  private fd: number | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Reads the file (missing means empty). A malformed line other than an unterminated last one is corruption. */
  load(): LoadedInvoices {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') {
        return { records: [], lines: 0, tornTail: false };
      }
      throw ioError('read', this.path, err);
    }
    const lines = text.split('\n');
    const last = lines.pop() ?? ''; // '' when the file ends with a newline
    const byHash = new Map<string, DevInvoiceRecord>();
    lines.forEach((line, i) => {
      const record = fromLine(line);
      if (record === undefined) {
        throw new TpError('JOURNAL_ERR_CORRUPT', `${this.path} line ${i + 1} is not an invoice record`);
      }
      byHash.set(record.rHash.toString('hex'), record);
    });
    const tornTail = last !== '';
    if (tornTail) {
      const record = fromLine(last); // a complete record that only lost its newline is still good
      if (record !== undefined) byHash.set(record.rHash.toString('hex'), record);
    }
    const records = [...byHash.values()].sort((a, b) => (a.addIndex < b.addIndex ? -1 : 1));
    return { records, lines: lines.length + (tornTail ? 1 : 0), tornTail };
  }

  /** Opens the file for appending (mode 0600: it holds preimages). */
  open(): void {
    if (this.fd !== undefined) return;
    try {
      this.fd = openSync(this.path, 'a', 0o600);
    } catch (err) {
      throw ioError('open', this.path, err);
    }
  }

  append(record: DevInvoiceRecord): void {
    if (this.fd === undefined) throw new TpError('JOURNAL_ERR_IO', `${this.path} is not open`);
    let size: number | undefined;
    try {
      size = fstatSync(this.fd).size;
      writeAll(this.fd, toLine(record));
    } catch (err) {
      // A write that failed part-way (ENOSPC) is cut off: the next record would land on its bytes and
      // load() would then find a corrupt line in the middle of the file.
      if (size !== undefined) try { ftruncateSync(this.fd, size); } catch { /* load() drops a torn last line */ }
      throw ioError('append to', this.path, err);
    }
  }

  /** Replaces the file with one line per record (write, fsync, rename), then reopens it for appending. */
  rewrite(records: readonly DevInvoiceRecord[]): void {
    const reopen = this.fd !== undefined;
    this.close();
    const tmp = `${this.path}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeAll(fd, records.map(toLine).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (err) {
      throw ioError('rewrite', this.path, err);
    }
    if (reopen) this.open();
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch (err) {
      throw ioError('close', this.path, err);
    }
  }
}
