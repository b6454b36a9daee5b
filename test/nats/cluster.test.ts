// A three-node JetStream cluster on loopback and a primary with --nats-replicas 3: one NATS node killed
// under load loses no row: the stream (read from the survivors) equals the journal.
import t from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../helpers/qclient.js';
import { sleep, until } from '../helpers/tp.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { haveNats, natsApp, natsClient, natsCluster, streamMessages, trade } from '../helpers/nats.js';

t.test('one node of three killed under load: 0 rows lost', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const dir = t.testdir();
  const nodes = await natsCluster(t, dir);
  const urls = nodes.map((n) => n.url);
  mkdirSync(join(dir, 'tp'));
  const app = await natsApp(t, ['sym', join(dir, 'tp'), '--nats', urls.join(','), '--nats-replicas', '3']);
  const feed = await connect({ port: app.port });
  t.teardown(() => feed.close());
  let i = 0;
  let feeding = true;
  const load = (async () => {
    while (feeding) {
      for (let k = 0; k < 20; k++) trade(feed, i++);
      await feed.sync('');
      await sleep(2);
    }
  })();
  await until(() => (app.nats?.lag() ?? 1) < 100 && i > 600, 30_000); // the stream exists and is in step
  // The stream's Raft leader is the node to lose: its followers must elect another and keep every row.
  const probe = await natsClient(t, urls);
  const leader = (await (await jetstreamManager(probe)).streams.info('TICK_sym')).cluster?.leader ?? 'n0';
  t.match(leader, /^n[012]$/, `stream leader ${leader} killed`);
  const victim = Number(leader.slice(1));
  await (nodes[victim] as { stop(): Promise<void> }).stop();
  const atKill = i;
  await until(() => i > atKill + 600, 20_000);
  feeding = false;
  await load;
  await until(() => app.nats?.lag() === 0, 30_000);
  const nc = await natsClient(t, urls.filter((_, k) => k !== victim));
  const records = (await streamMessages(nc, 'TICK_sym')).filter((m) => m.subject === 'tick.sym.trade');
  app.tp.flushJournal();
  t.equal(records.length, i, `${i} rows fed (${atKill} before the kill), ${records.length} in the stream`);
  t.equal(new Set(records.map((m) => m.id)).size, records.length, 'no duplicate');
  t.ok(Buffer.concat(records.map((m) => m.data)).equals(readFileSync(app.tp.logFile as string).subarray(8)),
    'the survivors hold the journal byte for byte');
});
