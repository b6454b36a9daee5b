// What a journal record says about itself without decoding it: its table, from the leading bytes of
// (`upd;`t;x) (general list, 3 items, symbol `upd, symbol t). Spec: kx IPC serialisation (type 0, -11).
import { TpError } from '../errors.js';

const HEAD = Buffer.from([0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xf5, 0x75, 0x70, 0x64, 0x00, 0xf5]);

/** The table name of a journal record; throws for anything that is not (`upd;`t;x). */
export function recordTable(record: Uint8Array): string {
  for (let i = 0; i < HEAD.length; i++) if (record[i] !== HEAD[i]) throw new TpError('JOURNAL_ERR_CORRUPT', 'nats: not an upd record');
  const end = record.indexOf(0, HEAD.length);
  if (end <= HEAD.length) throw new TpError('JOURNAL_ERR_CORRUPT', 'nats: not an upd record');
  return Buffer.from(record.buffer, record.byteOffset + HEAD.length, end - HEAD.length).toString('latin1');
}
