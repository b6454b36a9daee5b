// The saved lnd resume cursor (src/lightning/cursor-file.ts): atomic JSON writes, the latest value wins,
// and a missing or damaged file means a full rescan (lightning.md §3.5).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CursorFile, loadCursor } from '../../src/lightning/cursor-file.js';
import { NO_CURSOR } from '../../src/lightning/cursor.js';
import { capturedLog, tempDir } from './lnd-harness.js';

t.test('saved cursors load back, and only the last of a burst is left on disk', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cursor.json');
  const { log } = capturedLog();
  const saver = new CursorFile(file, log);
  for (let i = 1n; i <= 20n; i++) saver.save({ addIndex: i * 2n, settleIndex: i });
  await saver.flush();
  t.same(await loadCursor(file, log), { addIndex: 40n, settleIndex: 20n });
  t.same(JSON.parse(readFileSync(file, 'utf8')), { addIndex: '40', settleIndex: '20' });
  t.same(readdirSync(dir), ['cursor.json'], 'no temporary file is left behind');
});

t.test('a missing file means a full rescan, quietly', async (t) => {
  const { log, lines } = capturedLog();
  t.same(await loadCursor(join(tempDir(t), 'absent.json'), log), NO_CURSOR);
  t.same(lines, []);
});

t.test('a damaged file means a full rescan, with a warning', async (t) => {
  const dir = tempDir(t);
  const { log, lines } = capturedLog();
  for (const [name, body] of [['a', '{"addIndex":"x","settleIndex":"1"}'], ['b', '{not json'], ['c', '[1,2]']] as const) {
    const file = join(dir, name);
    writeFileSync(file, body);
    t.same(await loadCursor(file, log), NO_CURSOR, body);
  }
  t.equal(lines.filter((l) => l.includes('lnd cursor file is malformed')).length, 3);
});

t.test('a cursor that cannot be written is logged, not thrown', async (t) => {
  const { log, lines } = capturedLog();
  const saver = new CursorFile(join(tempDir(t), 'no', 'such', 'dir', 'cursor.json'), log);
  saver.save({ addIndex: 1n, settleIndex: 1n });
  await saver.flush();
  t.match(lines.join(''), /cannot save lnd cursor file/);
  t.notOk(existsSync(join('no', 'such')));
});
