// The invoice description a wallet shows the buyer. BOLT 11's `d` field holds at most 639 bytes (its
// 10-bit length counts 5-bit groups), and lnd refuses to encode more, so the memo always fits:
//   <Kind>:<table>| <sym> <sym> ...\n            one line per table (the paper's "Invoice:" + t!syms)
// and, when that would exceed 639 bytes, each table gets an equal share, with as many syms as fit and
// "+N more" for the rest, e.g. "Invoice:trade| AAPL MSFT +118 more\n". Syms are in request order.
import type { SymFilter } from '../tick/index.js';

/** BOLT 11: the `d` field's largest UTF-8 description. */
export const MAX_DESCRIPTION_BYTES = 639;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Cuts at a UTF-8 character boundary. */
function cut(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  let end = max;
  while (end > 0 && ((b[end] ?? 0) & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

export function memoOf(kind: 'Invoice' | 'Renewal', requests: ReadonlyArray<{ readonly table: string; readonly filter: SymFilter }>): string {
  const head = `${kind}:`;
  const lines = requests.map((r) => ({ table: r.table, syms: r.filter === null ? [] : [...r.filter] }));
  const full = head + lines.map((l) => `${l.table}| ${l.syms.join(' ')}\n`).join('');
  if (bytes(full) <= MAX_DESCRIPTION_BYTES) return full;
  const share = Math.floor((MAX_DESCRIPTION_BYTES - bytes(head)) / Math.max(1, lines.length));
  let out = head;
  for (const l of lines) {
    let line = `${l.table}| `;
    let n = 0;
    for (const s of l.syms) {
      const piece = (n > 0 ? ' ' : '') + s;
      const rest = l.syms.length - n - 1;
      const tail = rest > 0 ? ` +${rest} more\n` : '\n';
      if (bytes(line) + bytes(piece) + bytes(tail) > share) break;
      line += piece;
      n++;
    }
    const rest = l.syms.length - n;
    line += (rest > 0 ? `${n > 0 ? ' ' : ''}+${rest} more` : '') + '\n';
    out += line;
  }
  return cut(out, MAX_DESCRIPTION_BYTES);
}
