// r.q's recovery contract: a subscriber that asks (.u.sub[`;`];`.u `i`L) mid-stream, replays the first
// .u.i journal records (`tickerplant replay L --limit i`) and keeps the live stream sees every row
// exactly once — in zero-latency and in batch mode.
import t from 'tap';
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { connect, nodeq } from '../helpers/qclient.js';
import { startTp } from '../helpers/tp.js';
import { qError, qMessage, startQPeer } from '../helpers/q-peer.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);
const CLI = join(process.cwd(), 'dist', 'cli.js');
const N = 400;

/** A q process standing in for r.q's side of -11!, played by node-q (test/helpers/q-peer.ts): it records the size of each upd row. */
async function sink(t: Test): Promise<{ port: number; seqs: number[] }> {
  const peer = await startQPeer(t, { answer: (v) => (v === '' ? qMessage(null, 2) : qError('nyi')) });
  return {
    port: peer.port,
    get seqs(): number[] {
      return peer.received.flatMap(({ type, value }) => {
        const [name, , x] = value as [unknown, unknown, unknown[]];
        return type === 0 && name === 'upd' ? [x[3] as number] : [];
      });
    },
  };
}

for (const mode of ['zero-latency', 'batch'] as const) {
  t.test(`${mode}: replaying .u.i records plus the live stream gives every row exactly once`, async (t) => {
    const dir = t.testdir();
    const tp = await startTp(t, { args: ['sym', dir, ...(mode === 'batch' ? ['-t', '3600000'] : [])] });
    const feed = await connect({ port: tp.port });
    const rdb = await connect({ port: tp.port });
    t.teardown(() => Promise.all([feed.close(), rdb.close()]));
    const send = (i: number): void => feed.async('.u.upd', s('trade'), [s(`S${i % 7}`), q['float']?.(i), q['int']?.(i)]);
    let reply: unknown[] | undefined;
    for (let i = 0; i < N; i++) {
      send(i);
      if (mode === 'batch' && i % 50 === 25) { await feed.sync(''); tp.tp.tick(); } // the "timer" fires now and then
      if (i === N / 2) reply = await rdb.sync('(.u.sub[`;`];`.u `i`L)') as unknown[];
    }
    await feed.sync('');
    if (mode === 'batch') tp.tp.tick();
    const [i, L] = (reply?.[1] ?? []) as [number, string];
    t.ok(i > 0 && i < N, `.u.i = ${i} when the subscriber joined`);
    const live = (): number[] => rdb.updates.flatMap((u) => (u.data as Array<Record<string, number>>).map((r) => r['size'] as number));
    await rdb.waitFor(() => live().length >= N - i);
    const target = await sink(t);
    const r = await promisify(execFile)(process.execPath, [CLI, 'replay', L.slice(1), '--to', `127.0.0.1:${target.port}`, '--limit', String(i)]);
    t.match(r.stdout, `sent ${i} records`);
    const all = [...target.seqs, ...live()].sort((a, b) => a - b);
    t.equal(target.seqs.length, i, 'the replay holds exactly .u.i records');
    t.same(all, Array.from({ length: N }, (_, k) => k), 'every row once: nothing lost, nothing twice');
  });
}

t.test('replay --to that is not host:port is a command-line mistake: exit 2, one line', async (t) => {
  const dir = t.testdir({ 'sym2026.01.01': Buffer.from([0xff, 0x01, 0, 0, 0, 0, 0, 0]) });
  const run = promisify(execFile)(process.execPath, [CLI, 'replay', join(dir, 'sym2026.01.01'), '--to', 'nonsense']);
  const err = await run.then(() => undefined, (e: { code?: number; stderr?: string }) => e);
  t.equal(err?.code, 2);
  t.match(err?.stderr, /^--to: expected host:port with a port from 1 to 65535, got 'nonsense'\n$/);
});
