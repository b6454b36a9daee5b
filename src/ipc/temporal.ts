// Conversions between JS time and q's temporal encodings on the 2000.01.01 epoch.
// Spec: code.kx.com/q/basics/datatypes.
import { EPOCH_OFFSET_DAYS } from './types.js';

const MS_PER_DAY = 86_400_000;

/** `2024.01.02` for a q date. */
export function formatQDate(days: number): string {
  const d = new Date((days + EPOCH_OFFSET_DAYS) * MS_PER_DAY);
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${d.getUTCFullYear()}.${mm}.${dd}`;
}

/** `0D10:00:00.000000000` for a q timespan. */
export function formatQTimespan(nanos: bigint): string {
  const neg = nanos < 0n;
  let n = neg ? -nanos : nanos;
  const ns = n % 1_000_000_000n; n /= 1_000_000_000n;
  const s = n % 60n; n /= 60n;
  const m = n % 60n; n /= 60n;
  const h = n % 24n; const d = n / 24n;
  const two = (x: bigint): string => String(x).padStart(2, '0');
  return `${neg ? '-' : ''}${d}D${two(h)}:${two(m)}:${two(s)}.${String(ns).padStart(9, '0')}`;
}
