// One SSE stream as a tick subscriber (src/http/sse.ts), on a real HTTP server and socket.
import t from 'tap';
import type { Test } from 'tap';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { ManualClock } from '../../src/clock.js';
import { SseStream } from '../../src/http/sse.js';
import { float, int, list, sym, timespan } from '../../src/ipc/values.js';
import { createLogger } from '../../src/log.js';
import { loadSchema, Tickerplant } from '../../src/tick/index.js';
import { LogSink, T0, until } from '../helpers/tp.js';

async function serve(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return (server.address() as AddressInfo).port;
}

t.test('a client that left while its request was being authorized ends its stream at once: no subscription is left behind', async (t) => {
  const sink = new LogSink();
  const tp = new Tickerplant({ schemas: loadSchema('q/sym.q'), clock: new ManualClock(T0), log: createLogger('debug', sink) });
  t.teardown(() => tp.close());
  const ended: number[] = [];
  const port = await serve(t, (req, res) => {
    // As the routes do: the stream is made only after an await (the payment lookup), by when the client may be gone.
    req.socket.once('close', () => {
      const s = new SseStream({ handle: -1, res, tp, table: 'trade', filter: null, log: createLogger('silent', sink), maxQueuedBytes: 1 << 20,
        onClose: (x) => { ended.push(x.handle); tp.disconnect(x.handle); } });
      void s.start(undefined);
    });
  });
  const socket = connect(port, '127.0.0.1', () => { socket.write('GET /l402/stream HTTP/1.1\r\nHost: x\r\n\r\n'); });
  await new Promise((r) => setTimeout(r, 50));
  socket.destroy();
  await until(() => ended.length === 1);
  t.same(ended, [-1]);
  t.equal(tp.w.count('trade'), 0, 'not left in .u.w');
});

t.test('a stream is a subscriber: its table updates as event: upd, nothing of other tables', async (t) => {
  const sink = new LogSink();
  const tp = new Tickerplant({ schemas: loadSchema('q/sym.q'), clock: new ManualClock(T0), log: createLogger('silent', sink) });
  t.teardown(() => tp.close());
  let stream: SseStream | undefined;
  const port = await serve(t, (_req, res) => {
    stream = new SseStream({ handle: -2, res, tp, table: 'trade', filter: new Set(['IBM']), log: createLogger('silent', sink), maxQueuedBytes: 1 << 20,
      onClose: (x) => tp.disconnect(x.handle) });
    void stream.start(undefined);
  });
  const res = await fetch(`http://127.0.0.1:${port}/`);
  t.match(res.headers.get('content-type'), /^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  await until(() => tp.w.count('trade') === 1);
  tp.upd('trade', list(timespan(1n), sym('MSFT'), float(1), int(1)));
  tp.upd('quote', list(timespan(1n), sym('IBM'), float(1), float(2), int(1), int(1)));
  tp.upd('trade', list(timespan(2n), sym('IBM'), float(2), int(2)));
  while (!text.includes('IBM')) text += new TextDecoder().decode((await reader.read()).value);
  t.equal(text, 'retry: 1000\n\nevent: upd\ndata: {"type":"upd","table":"trade","data":{"columns":["time","sym","price","size"],' +
    '"data":{"time":["0D00:00:00.000000002"],"sym":["IBM"],"price":[2],"size":[2]}}}\n\n', 'no id without a journal');
  stream?.finish('expired', { type: 'expired', code: 'expired' });
  for (;;) { const r = await reader.read(); if (r.done) break; text += new TextDecoder().decode(r.value); }
  t.match(text, /event: expired\ndata: \{"type":"expired","code":"expired"\}\n\n$/, 'a final event, then the end');
  await until(() => tp.w.count('trade') === 0);
});
