// q's date and timespan text (src/ipc/temporal.ts), on the 2000.01.01 epoch.
// Spec: code.kx.com/q/basics/datatypes (date as days since 2000.01.01, timespan as nanoseconds).
import t from 'tap';
import { formatQDate, formatQTimespan } from '../../src/ipc/index.js';

t.test('a q date is days since 2000.01.01, written yyyy.mm.dd', async (t) => {
  t.equal(formatQDate(0), '2000.01.01');
  t.equal(formatQDate(1), '2000.01.02');
  t.equal(formatQDate(59), '2000.02.29', '2000 is a leap year');
  t.equal(formatQDate(8767), '2024.01.02');
  t.equal(formatQDate(-1), '1999.12.31', 'days before the epoch are negative');
});

t.test('a timespan is written dDhh:mm:ss.nnnnnnnnn with nine fraction digits', async (t) => {
  t.equal(formatQTimespan(0n), '0D00:00:00.000000000');
  t.equal(formatQTimespan(36_000_000_000_000n), '0D10:00:00.000000000');
  t.equal(formatQTimespan(1n), '0D00:00:00.000000001');
  t.equal(formatQTimespan(86_400_000_000_000n + 3_723_000_000_005n), '1D01:02:03.000000005');
});

t.test('a negative timespan is its magnitude with a leading minus', async (t) => {
  t.equal(formatQTimespan(-1_500_000_000n), '-0D00:00:01.500000000');
});
