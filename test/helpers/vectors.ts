// Reads the q-produced byte vectors (test/fixtures/ipc): pairs of lines, q expression then payload hex.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Vector { readonly expr: string; readonly bytes: Buffer }

export function readVectors(file: 'q3-expressions.txt' | 'q3-compressed-expressions.txt'): Vector[] {
  const path = fileURLToPath(new URL(`../fixtures/ipc/${file}`, import.meta.url));
  const lines = readFileSync(path, 'latin1').split('\n').filter((l) => l.length > 0);
  const out: Vector[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    out.push({ expr: lines[i] as string, bytes: Buffer.from(lines[i + 1] as string, 'hex') });
  }
  return out;
}

/** A full async message around a payload, as q would frame it. */
export function frame(payload: Buffer, msgType = 0, compressed = false): Buffer {
  const header = Buffer.from([1, msgType, compressed ? 1 : 0, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(payload.length + 8, 4);
  return Buffer.concat([header, payload]);
}

/** A message (header included) whose payload is a general list of n `::` (type 101, index 0): the work bombs. */
export function generalNulls(n: number, msgType = 0): Buffer {
  const b = Buffer.alloc(8 + 6 + 2 * n);
  b[0] = 1;
  b[1] = msgType;
  b.writeUInt32LE(b.length, 4);
  b.writeInt32LE(n, 10); // b[8], b[9]: a general list, no attribute
  for (let i = 0; i < n; i++) b[14 + 2 * i] = 101;
  return b;
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
