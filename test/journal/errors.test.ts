// Journal errors (src/journal/errors.ts): tick.q's own text for a corrupt log, and I/O failures that name
// the file and the action. Spec: KxSystems/kdb tick.q .u.ld ("is a corrupt log. Truncate to length ...").
import t from 'tap';
import { TpError } from '../../src/errors.js';
import { journalIoError, JournalCorruptError } from '../../src/journal/errors.js';

t.test('a corrupt log reads as tick.q says it, with the valid prefix to truncate to', async (t) => {
  const e = new JournalCorruptError('/data/sym2024.01.02', 12, 4096);
  t.equal(e.message, ':/data/sym2024.01.02 is a corrupt log. Truncate to length 4096 and restart');
  t.equal(e.code, 'JOURNAL_ERR_CORRUPT');
  t.ok(e instanceof TpError);
  t.same([e.path, e.chunks, e.validBytes], ['/data/sym2024.01.02', 12, 4096]);
});

t.test('a path already written as a q file symbol is not given a second colon', async (t) => {
  t.match(new JournalCorruptError(':sym2024.01.02', 0, 8).message, /^:sym2024\.01\.02 is a corrupt log/);
});

t.test('an I/O failure names the file, the action and the cause, and keeps the cause', async (t) => {
  const cause = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  const e = journalIoError('/data/sym', 'fsync', cause);
  t.equal(e.code, 'JOURNAL_ERR_IO');
  t.equal(e.message, 'journal /data/sym: fsync failed: ENOSPC: no space left on device');
  t.equal(e.cause, cause);
  t.equal(journalIoError('/x', 'write', 'disk gone').message, 'journal /x: write failed: disk gone', 'a thrown non-Error is its text');
});
