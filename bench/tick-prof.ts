// Summarises a V8 .cpuprofile (e.g. the TP's, from TICK_BENCH_PROF=<dir> npm run bench:tick): the
// functions with the most self time, mapped back to .ts file:line through the .js.map files beside the
// compiled code. Usage: node dist-bench/bench/tick-prof.js <file.cpuprofile | dir> [top=30]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode {
  id: number; callFrame: CallFrame; hitCount?: number; children?: number[];
  /** Samples per 1-based line of the compiled file. */
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }

const arg = process.argv[2];
if (!arg) { console.error('usage: tick-prof <file.cpuprofile | dir> [top]'); process.exit(2); }
const top = Number(process.argv[3] ?? 30);
const file = statSync(arg).isDirectory()
  ? path.join(arg, readdirSync(arg).filter((f) => f.endsWith('.cpuprofile')).sort().at(-1) ?? '')
  : arg;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

// Self time per node: each sample's time delta goes to the node it hit.
const self = new Map<number, number>();
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++) {
  const id = samples[i] as number;
  const dt = deltas[i + 1] ?? 0; // a delta is the time until the next sample
  self.set(id, (self.get(id) ?? 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

const maps = new Map<string, SourceMap | null>();
function sourceMap(url: string): SourceMap | null {
  if (!maps.has(url)) {
    let m: SourceMap | null = null;
    try {
      const js = url.startsWith('file:') ? fileURLToPath(url) : url;
      if (existsSync(`${js}.map`)) m = new SourceMap(JSON.parse(readFileSync(`${js}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
    } catch { m = null; }
    maps.set(url, m);
  }
  return maps.get(url) ?? null;
}

const cwd = process.cwd();
/** file:line (1-based) of a frame (or of a 0-based line/column in its file), in the .ts source when a map says where. */
function where(f: CallFrame, line = f.lineNumber, column = f.columnNumber): string {
  if (!f.url) return '(native)';
  const m = sourceMap(f.url);
  const entry = m?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
  if (m && entry?.originalSource) {
    // Sources in a map are relative to the compiled file (tsc writes "../../src/x.ts").
    const js = f.url.startsWith('file:') ? fileURLToPath(f.url) : f.url;
    const o = entry.originalSource;
    const src = o.startsWith('file:') ? fileURLToPath(o) : path.resolve(path.dirname(js), o);
    return `${path.relative(cwd, src)}:${(entry.originalLine ?? 0) + 1}`;
  }
  const js = f.url.startsWith('file:') ? path.relative(cwd, fileURLToPath(f.url)) : f.url;
  return `${js}:${line + 1}`;
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
/** Per function: sample ticks per source line (the last mapping on each compiled line). */
const lines = new Map<string, Map<string, number>>();
for (const node of profile.nodes) {
  const t = self.get(node.id);
  if (!t) continue;
  const f = node.callFrame;
  const loc = where(f);
  const key = `${f.functionName || '(anonymous)'}  ${loc}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  const perLine = lines.get(key) ?? new Map<string, number>();
  lines.set(key, perLine);
  for (const p of node.positionTicks ?? []) {
    const at = where(f, p.line - 1, 10_000).replace(/^.*:/, '');
    perLine.set(at, (perLine.get(at) ?? 0) + p.ticks);
  }
  const fileKey = loc.replace(/:\d+$/, '');
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + t);
}

const pct = (t: number): string => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
const ms = (t: number): string => `${(t / 1000).toFixed(0).padStart(7)} ms`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log(`top ${top} functions by self time:`);
for (const [k, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const perLine = [...(lines.get(k) ?? [])].sort((a, b) => b[1] - a[1]);
  const ticks = perLine.reduce((n, [, c]) => n + c, 0);
  const hot = perLine.slice(0, 3).map(([l, c]) => `:${l} ${((c / ticks) * 100).toFixed(0)}%`).join(', ');
  console.log(`${pct(t)} ${ms(t)}  ${k}${hot ? `   (lines ${hot})` : ''}`);
}
console.log('by file:');
for (const [k, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(t)} ${ms(t)}  ${k}`);
