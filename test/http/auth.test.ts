// -u applies to every interface (src/http/server.ts): /metrics takes HTTP Basic, the WebSocket upgrade
// takes HTTP Basic or the `auth.<base64url(user:password)>` subprotocol that browsers can send; /healthz
// and the page stay open. Real sockets: node:http and the ws client.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { LogSink, startTp } from '../helpers/tp.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const token = (user: string, password: string): string => `auth.${Buffer.from(`${user}:${password}`).toString('base64url')}`;

/** Opens a WebSocket; resolves with its first message (the hello), or the HTTP status it was refused with. */
function open(url: string, protocols?: string[], headers?: Record<string, string>): Promise<{ status: number; hello?: unknown; protocol?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, headers ? { headers } : {});
    ws.once('unexpected-response', (_req, res) => { resolve({ status: res.statusCode ?? 0 }); ws.terminate(); });
    ws.once('message', (data) => { resolve({ status: 101, hello: JSON.parse(String(data)), protocol: ws.protocol }); ws.close(); });
    ws.once('error', () => undefined);
  });
}

t.test('with -u, /metrics and /ws require the same users; /healthz and the page stay open', async (t) => {
  const dir = t.testdir();
  const users = join(dir, 'users');
  writeFileSync(users, 'alice:wonderland\n');
  const sink = new LogSink();
  const tp = await startTp(t, { args: ['-u', users, '--http-port', '0'], sink });
  const base = `http://127.0.0.1:${String(tp.httpPort)}`;
  const ws = `ws://127.0.0.1:${String(tp.httpPort)}/ws`;

  t.equal((await fetch(`${base}/healthz`)).status, 200, '/healthz is open');
  t.equal((await fetch(`${base}/`)).status, 200, 'the page is open (it asks for credentials itself)');
  const anon = await fetch(`${base}/metrics`);
  t.equal(anon.status, 401, '/metrics without credentials: 401');
  t.match(anon.headers.get('www-authenticate'), /^Basic/, 'asking for Basic');
  t.equal((await fetch(`${base}/metrics`, { headers: { authorization: basic('alice', 'nope') } })).status, 401, 'wrong password: 401');
  const ok = await fetch(`${base}/metrics`, { headers: { authorization: basic('alice', 'wonderland') } });
  t.equal(ok.status, 200, 'the right user gets the metrics');
  t.match(await ok.text(), /tickerplant_updates_total/);

  t.equal((await fetch(`${base}/ws`)).status, 401, 'GET /ws tells the page credentials are needed');
  t.equal((await fetch(`${base}/ws`, { headers: { authorization: basic('alice', 'wonderland') } })).status, 426, 'and when they are right');
  t.equal((await open(ws)).status, 401, 'an upgrade without credentials is refused');
  t.equal((await open(ws, ['tickerplant', token('alice', 'guess')])).status, 401, 'a wrong token is refused');
  const viaToken = await open(ws, ['tickerplant', token('alice', 'wonderland')]);
  t.equal(viaToken.status, 101, 'the subprotocol token opens it');
  t.equal(viaToken.protocol, 'tickerplant', "the server answers 'tickerplant', never echoing the credential");
  t.match(viaToken.hello, { type: 'hello' });
  t.equal((await open(ws, undefined, { authorization: basic('alice', 'wonderland') })).status, 101, 'so does HTTP Basic (non-browser clients)');

  const denied = sink.lines.filter((l) => l['msg'] === 'http access denied');
  t.equal(denied.length, 4, 'one log line per refusal');
  t.notMatch(sink.text(), /wonderland|guess|nope/, 'no password reaches the log');
});

t.test('without -u nothing asks for credentials', async (t) => {
  const tp = await startTp(t, { args: ['--http-port', '0'] });
  t.equal((await fetch(`http://127.0.0.1:${String(tp.httpPort)}/metrics`)).status, 200);
  t.equal((await open(`ws://127.0.0.1:${String(tp.httpPort)}/ws`)).status, 101);
});
