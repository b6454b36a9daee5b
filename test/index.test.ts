// The package entry as an embedder imports it (package.json main → dist/index.js): start a tickerplant,
// talk to it with the package's own client, and read the package's encoding with node-q.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeqCodec } from './server/fixture.js';
import { LogSink } from './helpers/tp.js';

type Entry = typeof import('../src/index.js');

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { main: string; types: string };

t.test('package.json main and types point at the built entry', async (t) => {
  t.equal(pkg.main, 'dist/index.js');
  t.equal(pkg.types, 'dist/index.d.ts');
  t.ok(readFileSync(pkg.types, 'utf8').includes('startApp'), 'the types declare startApp');
});

t.test('an embedder starts a tickerplant, subscribes with the client and its values encode for node-q', async (t) => {
  const tp = await import(pathToFileURL(join(process.cwd(), pkg.main)).href) as Entry;
  const { config } = tp.parseCommandLine(['-p', '0', '--unix', '', '--host', '127.0.0.1']);
  const app = await tp.startApp(config, { log: tp.createLogger('silent', new LogSink()), clock: new tp.ManualClock(0n) });
  t.teardown(() => app.close());
  const c = await tp.QConnection.connect({ port: app.port });
  t.teardown(() => c.close());
  t.strictSame(await c.sync(tp.str('.u.t')), tp.symbols(['quote', 'trade']));
  const reply = await c.sync(tp.list(tp.sym('.u.sub'), tp.sym('trade'), tp.sym('IBM')));
  t.equal(reply.type, 0, '(t;schema)');
  await t.rejects(c.sync(tp.str('system"ls"')), { message: 'access' });

  const bytes = tp.encodeMessage(tp.list(tp.sym('upd'), tp.sym('trade'), tp.longs([1n, 2n])), tp.MsgType.Async);
  t.same(nodeqCodec.deserialize(bytes), ['upd', 'trade', [1, 2]], 'node-q reads the package encoding');
  t.strictSame(tp.decodeMessage(bytes, { maxMessageBytes: 1 << 20, maxDepth: 8 }).value,
    tp.list(tp.sym('upd'), tp.sym('trade'), tp.longs([1n, 2n])));
});
