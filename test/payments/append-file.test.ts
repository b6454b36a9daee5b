// The durable append-only files of the money model: a line append() accepted is written and fsync'd
// before it returns; a torn last line is left out on reading; replace() is atomic; and the retrying
// writer keeps, in order, every line a full or broken disk refused and writes it once the disk is back.
import t from 'tap';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { errorCode, openAppendFile, RetryingWriter } from '../../src/payments/append-file.js';
import type { AppendFile } from '../../src/payments/append-file.js';
import { T0 } from '../helpers/tp.js';

// The module imports node:fs's named exports; patching the CommonJS object and syncing the ESM bindings
// lets the test see, in order, the system calls it makes, and make one of them fail on cue.
const fs = createRequire(import.meta.url)('node:fs') as Record<string, (...a: unknown[]) => unknown>;
type Call = string;
function spyFs(t: { teardown(fn: () => void): void }, fail?: (name: string) => string | undefined): Call[] {
  const calls: Call[] = [];
  const names = ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync'];
  const saved = new Map(names.map((n) => [n, fs[n]!]));
  for (const n of names) {
    const real = saved.get(n)!;
    fs[n] = (...a: unknown[]) => {
      const code = fail?.(n);
      calls.push(code ? `${n}!${code}` : n);
      if (code) throw Object.assign(new Error(`${code}: injected, ${n}`), { code });
      return real(...a);
    };
  }
  syncBuiltinESMExports();
  t.teardown(() => { for (const [n, f] of saved) fs[n] = f; syncBuiltinESMExports(); });
  return calls;
}

const dir = mkdtempSync(join(tmpdir(), 'append-file-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `f${n++}`, 'ledger.jsonl');

t.test('appended lines are in the file and read back, the file created with its folder, owner-only', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  t.same(f.readLines(), [], 'a file that does not exist yet has no lines');
  f.append('{"a":1}\n');
  f.append('{"b":2}\n{"c":3}\n');
  t.equal(readFileSync(path, 'utf8'), '{"a":1}\n{"b":2}\n{"c":3}\n');
  t.same(f.readLines(), ['{"a":1}', '{"b":2}', '{"c":3}']);
  t.equal(statSync(path).mode & 0o777, 0o600);
  f.close();
  t.same(openAppendFile(path).readLines(), ['{"a":1}', '{"b":2}', '{"c":3}'], 'another open reads the same lines');
});

t.test('append writes every byte and fsyncs before it returns', async (t) => {
  const f = openAppendFile(fresh());
  const calls = spyFs(t);
  f.append('x'.repeat(100_000) + '\n');
  const lastWrite = calls.lastIndexOf('writeSync');
  t.ok(lastWrite >= 0, 'written');
  t.equal(calls.at(-1), 'fsyncSync', 'the last thing append does is the fsync');
  t.equal(calls.filter((c) => c === 'fsyncSync').length, 1, 'one fsync per append');
  t.equal(calls.filter((c) => c === 'openSync').length, 1, 'opened on first append');
  f.append('y\n');
  t.equal(calls.filter((c) => c === 'openSync').length, 1, 'and kept open');
  t.same(calls.slice(-2), ['writeSync', 'fsyncSync']);
  f.close();
});

t.test('a torn last line (a crash mid-write) and blank lines are left out on reading', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('{"a":1}\n\n  \n{"b":2}\n');
  writeFileSync(path, readFileSync(path, 'utf8') + '{"c":', { flag: 'w' });
  t.same(f.readLines(), ['{"a":1}', '{"b":2}']);
  f.close();
});

t.test('a failed write throws the system error, and the next append reopens the file', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('1\n');
  let failing: string | undefined = 'ENOSPC';
  const calls = spyFs(t, (name) => (name === 'writeSync' ? failing : undefined));
  const err = t.throws(() => f.append('2\n')) as NodeJS.ErrnoException;
  t.equal(err.code, 'ENOSPC');
  t.ok(calls.includes('closeSync'), 'the unusable descriptor is closed');
  t.notOk(calls.includes('fsyncSync'), 'no fsync after a failed write');
  failing = 'EIO';
  t.equal((t.throws(() => f.append('2\n')) as NodeJS.ErrnoException).code, 'EIO');
  failing = undefined;
  calls.length = 0;
  f.append('2\n');
  t.equal(calls[0], 'openSync', 'reopened');
  t.same(f.readLines(), ['1', '2']);
  f.close();
});

/**
 * node:fs's writeSync as on a disk that fills up after `room` more bytes: a short write, then ENOSPC.
 * Undone in teardown, or earlier by calling what it returns (the disk freed).
 */
function fillingDisk(t: { teardown(fn: () => void): void }, room: number): () => void {
  const real = fs['writeSync']!;
  let left = room;
  fs['writeSync'] = (fd: unknown, b: unknown, off: unknown, len: unknown) => {
    if (left === 0) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
    const n = real(fd, b, off, Math.min(left, len as number)) as number;
    left -= n;
    return n;
  };
  syncBuiltinESMExports();
  const restore = (): void => { fs['writeSync'] = real; syncBuiltinESMExports(); };
  t.teardown(restore);
  return restore;
}

t.test('an append the disk fills up in the middle of is taken back whole: a retry cannot write its first lines twice', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('{"a":1}\n');
  fillingDisk(t, 12); // the whole first line of the next append fits, and 4 bytes of the second
  t.throws(() => f.append('{"b":2}\n{"c":3}\n'), { code: 'ENOSPC' });
  t.equal(readFileSync(path, 'utf8'), '{"a":1}\n', 'none of the failed append is left, not even its whole first line');
});

t.test('when taking a failed append back fails too, the next append cuts it off before writing: no line twice', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('{"a":1}\n');
  const freed = fillingDisk(t, 12); // the first whole line of the next append fits
  const truncate = fs['ftruncateSync']!;
  let refuse = true;
  fs['ftruncateSync'] = (...a: unknown[]) => {
    if (refuse) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
    return truncate(...a);
  };
  syncBuiltinESMExports();
  t.teardown(() => { fs['ftruncateSync'] = truncate; syncBuiltinESMExports(); });
  t.throws(() => f.append('{"b":2}\n{"c":3}\n'), { code: 'ENOSPC' });
  t.equal(readFileSync(path, 'utf8'), '{"a":1}\n{"b":2}\n{"c"', 'the take-back failed: a whole line of the failed append is still there');
  freed();
  refuse = false;
  f.append('{"b":2}\n{"c":3}\n'); // the retry
  t.equal(readFileSync(path, 'utf8'), '{"a":1}\n{"b":2}\n{"c":3}\n', 'each line once');
  f.close();
});

t.test('a replace the disk fills up in the middle of leaves the old file whole and no temporary file', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('keep1\nkeep2\n');
  fillingDisk(t, 6); // writeSync writes 6 bytes and returns 6 (no error), then refuses
  t.throws(() => f.replace('new1\nnew2\n'), { code: 'ENOSPC' });
  t.equal(readFileSync(path, 'utf8'), 'keep1\nkeep2\n', 'a short copy is never renamed over the file');
  t.notOk(existsSync(`${path}.tmp`));
});

t.test('a write that fails part-way leaves no torn bytes for the next line to land on', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('{"a":1}\n');
  const freed = fillingDisk(t, 4); // a short write before ENOSPC: the first 4 bytes reach the file
  t.throws(() => f.append('{"b":2}\n'));
  t.equal(readFileSync(path, 'utf8'), '{"a":1}\n', 'the failed append is taken back');
  freed();
  writeFileSync(path, '{"a":1}\n{"b"', { flag: 'w' }); // as when the take-back itself failed
  f.append('{"c":3}\n');
  t.equal(readFileSync(path, 'utf8'), '{"a":1}\n{"c":3}\n', 'the next append cut it off before writing');
  t.same(f.readLines(), ['{"a":1}', '{"c":3}']);
  f.close();
});

t.test('a line a crash cut short is cut off by the next process before it appends', async (t) => {
  const path = fresh();
  openAppendFile(path).append('{"a":1}\n');
  writeFileSync(path, '{"a":1}\n{"torn', { flag: 'w' });
  const f = openAppendFile(path);
  f.append('{"b":2}\n');
  t.same(f.readLines(), ['{"a":1}', '{"b":2}'], 'the new line is whole, not merged with the torn one');
  f.close();
  writeFileSync(path, 'no newline at all', { flag: 'w' });
  const g = openAppendFile(path);
  g.append('{"c":3}\n');
  t.equal(readFileSync(path, 'utf8'), '{"c":3}\n', 'a file of one torn line is emptied first');
  g.close();
});

t.test('a failed fsync is a failed append', async (t) => {
  const f = openAppendFile(fresh());
  spyFs(t, (name) => (name === 'fsyncSync' ? 'EIO' : undefined));
  t.equal((t.throws(() => f.append('1\n')) as NodeJS.ErrnoException).code, 'EIO');
});

t.test('replace swaps the whole file atomically (temporary file, fsync, rename) and appends go to the new file', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('old1\nold2\nold3\n');
  const calls = spyFs(t);
  f.replace('new1\n');
  const i = (c: string): number => calls.indexOf(c);
  t.ok(i('writeSync') < i('fsyncSync') && i('fsyncSync') < i('renameSync'), 'written and fsync\'d before the rename');
  t.equal(calls.at(-1), 'renameSync');
  t.notOk(existsSync(`${path}.tmp`), 'no temporary file is left');
  t.equal(readFileSync(path, 'utf8'), 'new1\n');
  f.append('after\n');
  t.same(openAppendFile(path).readLines(), ['new1', 'after'], 'the append after a compaction lands in the compacted file');
  f.close();
});

t.test('a replace that fails leaves the old file whole', async (t) => {
  const path = fresh();
  const f = openAppendFile(path);
  f.append('keep\n');
  spyFs(t, (name) => (name === 'fsyncSync' ? 'ENOSPC' : undefined));
  t.throws(() => f.replace('lost\n'), { code: 'ENOSPC' });
  t.equal(readFileSync(path, 'utf8'), 'keep\n');
});

t.test('a write error is named by its system code, else its message', async (t) => {
  t.equal(errorCode(Object.assign(new Error('no space'), { code: 'ENOSPC' })), 'ENOSPC');
  t.equal(errorCode(new Error('plain')), 'plain');
  t.equal(errorCode('text'), 'text');
  t.equal(errorCode(null), 'null');
});

/** An injected disk: a real file whose appends fail with `failing` while it is set. */
class Disk implements AppendFile {
  failing: string | undefined;
  appends = 0;
  private readonly real: AppendFile;
  constructor(readonly path: string) { this.real = openAppendFile(path); }
  readLines(): string[] { return this.real.readLines(); }
  append(text: string): void {
    this.appends++;
    if (this.failing) throw Object.assign(new Error(`${this.failing}: injected`), { code: this.failing });
    this.real.append(text);
  }
  replace(text: string): void { this.real.replace(text); }
  close(): void { this.real.close(); }
}

function rig(retryMs?: number) {
  const clock = new ManualClock(T0);
  const disk = new Disk(fresh());
  const logs: Array<{ level: string; o: Record<string, unknown>; msg: string }> = [];
  const log = {
    error: (o: object, msg: string) => { logs.push({ level: 'error', o: o as Record<string, unknown>, msg }); },
    info: (o: object, msg: string) => { logs.push({ level: 'info', o: o as Record<string, unknown>, msg }); },
  };
  const w = new RetryingWriter({ file: disk, after: (ms, fn) => clock.after(ms, fn), log, ...(retryMs !== undefined ? { retryMs } : {}) });
  return { clock, disk, logs, w };
}

t.test('a line the disk refuses (ENOSPC, EIO) is kept in memory, in order, and written when the disk is back', async (t) => {
  for (const code of ['ENOSPC', 'EIO']) {
    const { clock, disk, logs, w } = rig();
    w.write('1\n');
    disk.failing = code;
    t.doesNotThrow(() => { w.write('2\n'); w.write('3\n'); }, `${code}: a full disk does not throw`);
    t.equal(w.unwritten, 2);
    t.equal(w.failures, 2, 'each refused attempt counts');
    t.same(disk.readLines(), ['1']);
    const errors = (): number => logs.filter((l) => l.level === 'error').length;
    t.match(logs.at(-1), { level: 'error', o: { code, unwritten: 1 }, msg: 'payment record not written; kept in memory, retrying' });
    t.equal(errors(), 1, 'one line when the disk starts refusing, not one per attempt');
    clock.advanceMs(5000);
    t.equal(w.unwritten, 2, 'the retry while the disk still refuses keeps them');
    t.equal(w.failures, 3);
    t.equal(errors(), 1, 'the retry is counted, not logged');
    disk.failing = undefined;
    clock.advanceMs(4999);
    t.equal(w.unwritten, 2, 'not before the retry is due');
    clock.advanceMs(1);
    t.equal(w.unwritten, 0);
    t.same(disk.readLines(), ['1', '2', '3'], 'in order');
    t.match(logs.at(-1), { level: 'info', o: { written: 2 }, msg: 'payment records written after a disk failure' });
    t.equal(clock.pending, 0, 'no retry left armed');
    w.close();
  }
});

t.test('one retry is armed however many lines wait, at the configured interval', async (t) => {
  const { clock, disk, w } = rig(250);
  disk.failing = 'ENOSPC';
  for (let i = 0; i < 10; i++) w.write(`${i}\n`);
  t.equal(clock.pending, 1);
  disk.failing = undefined;
  const before = disk.appends;
  clock.advanceMs(250);
  t.equal(disk.appends, before + 1, 'the waiting lines go in one append');
  t.equal(disk.readLines().length, 10);
  w.close();
});

t.test('a new line written while others wait goes after them once the disk is back', async (t) => {
  const { disk, w, clock } = rig();
  disk.failing = 'EIO';
  w.write('a\n');
  disk.failing = undefined;
  w.write('b\n');
  t.same(disk.readLines(), ['a', 'b']);
  t.equal(clock.pending, 0, 'the write that succeeded cancelled the retry');
  w.close();
});

t.test('writeNow writes after the lines already waiting, or throws and keeps nothing back', async (t) => {
  const { disk, w, logs } = rig();
  disk.failing = 'ENOSPC';
  w.write('queued\n');
  const e = t.throws(() => w.writeNow('ahead\n')) as Error;
  t.match(e.message, /1 earlier lines are still unwritten/);
  disk.failing = undefined;
  w.writeNow('ahead\n');
  t.same(disk.readLines(), ['queued', 'ahead'], 'order kept');
  disk.failing = 'EIO';
  t.throws(() => w.writeNow('refused\n'), { code: 'EIO' });
  t.equal(w.unwritten, 0, 'a line writeNow could not write is the caller\'s, not queued');
  t.match(logs.at(-1), { level: 'error', o: { code: 'EIO' }, msg: 'payment record not written' });
  disk.failing = undefined;
  w.close();
  t.same(disk.readLines(), ['queued', 'ahead']);
});

t.test('closing writes what waits if it can and cancels the retry', async (t) => {
  const { disk, w, clock } = rig();
  disk.failing = 'ENOSPC';
  w.write('x\n');
  disk.failing = undefined;
  w.close();
  t.same(disk.readLines(), ['x']);
  t.equal(clock.pending, 0);
  const r = rig();
  r.disk.failing = 'ENOSPC';
  r.w.write('y\n');
  t.doesNotThrow(() => r.w.close(), 'closing on a full disk does not throw');
  t.equal(r.clock.pending, 0);
});
