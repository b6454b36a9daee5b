// One event per line, no repeated keys (src/log.ts and every child logger): pino writes a child's
// bindings after its parent's, so a key bound twice appears twice in the JSON. Checked on the raw lines
// of a tickerplant with its IPC, HTTP and WebSocket parts in use.
import { once } from 'node:events';
import t from 'tap';
import WebSocket from 'ws';
import { startApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { parseCommandLine } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { connect } from './helpers/qclient.js';
import { T0, until } from './helpers/tp.js';

/** Keys repeated within one JSON object anywhere in `text` (a small scanner: JSON.parse keeps the last). */
function repeatedKeys(text: string): string[] {
  const stack: Array<Set<string>> = [];
  const repeated: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = text.slice(i + 1, j);
      let k = j + 1;
      while (text[k] === ' ') k++;
      const top = stack.at(-1);
      if (text[k] === ':' && top) {
        if (top.has(s)) repeated.push(s); else top.add(s);
      }
      i = j + 1;
      continue;
    }
    if (c === '{') stack.push(new Set());
    else if (c === '}') stack.pop();
    i++;
  }
  return repeated;
}

t.test('no log line repeats a key (user, mod, ...)', async (t) => {
  t.same(repeatedKeys('{"a":1,"b":{"a":2},"a":3}'), ['a'], 'the scanner finds a repeat');
  const raw: string[] = [];
  const log = createLogger('debug', { write: (s: string) => { for (const l of s.split('\n')) if (l) raw.push(l); } });
  const { config } = parseCommandLine(['-p', '0', '--unix', '', '--http-port', '0']);
  const app = await startApp(config, { log, clock: new ManualClock(T0) });
  t.teardown(() => app.close());
  const c = await connect({ port: app.port, user: 'alice', password: 'x' });
  await c.sync('.u.sub[`trade;`]');
  await c.close();
  const ws = new WebSocket(`ws://127.0.0.1:${String(app.httpPort)}/ws`);
  await once(ws, 'message');
  ws.close();
  await until(() => raw.some((l) => l.includes('websocket client disconnected')) && raw.some((l) => l.includes('client disconnected')));
  const bad = raw.filter((l) => repeatedKeys(l).length > 0);
  t.same(bad, [], `${raw.length} lines, none with a repeated key`);
  t.ok(raw.some((l) => l.includes('"msg":"client connected"') && l.includes('"user":"alice"')), 'the user is still on the connect line');
});
