// r.q's recovery contract: a subscriber that asks (.u.sub[`;`];`.u `i`L) mid-stream, replays the first
// .u.i journal records (`tickerplant replay L --limit i`) and keeps the live stream sees every row
// exactly once — in zero-latency and in batch mode.
import t from 'tap';
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { IpcServer } from '../../src/server/index.js';
import { NULL } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';
import { connect, nodeq } from '../helpers/qclient.js';
import { startTp } from '../helpers/tp.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);
const CLI = join(process.cwd(), 'dist', 'cli.js');
const N = 400;

/** A q process standing in for r.q's side of -11!: it only records the upd messages it is sent. */
async function sink(t: Test): Promise<{ port: number; seqs: number[] }> {
  const seqs: number[] = [];
  const server = new IpcServer({
    log: createLogger('silent'),
    handler: {
      onMessage: (_c, v: QValue) => {
        if (v.type === 0 && v.items[0]?.type === -11 && v.items[0].value === 'upd') {
          const x = v.items[2];
          if (x?.type === 0 && x.items[3]?.type === -6) seqs.push(x.items[3].value);
        }
        return NULL;
      },
    },
  });
  const a = await server.listenTcp(0, '127.0.0.1');
  t.teardown(() => server.close());
  return { port: a.port as number, seqs };
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
