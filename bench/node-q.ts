// Loads node-q's internal codec (a real, independent kdb+ implementation) for same-run comparisons.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface NodeQCodec {
  serialize(x: unknown): Buffer;
  deserialize(b: Buffer, nanos2date?: boolean, flipTables?: boolean, emptyChar2null?: boolean, long2number?: boolean): unknown;
}
export interface NodeQTyped {
  symbol(s: string): unknown;
  symbols(s: string[]): unknown;
  timespan(d: Date): unknown;
  timespans(d: Date[]): unknown;
  float(n: number): unknown;
  floats(n: number[]): unknown;
  long(n: unknown): unknown;
  longs(n: unknown[]): unknown;
}
export interface LongCtor { fromNumber(n: number): unknown }

export const nodeq = require('node-q/lib/c.js') as NodeQCodec;
export const typed = require('node-q/lib/typed.js') as NodeQTyped;
export const Long = require('long') as LongCtor;
