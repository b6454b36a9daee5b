// The HTTP listener: the page's files with a strict CSP, /healthz, /metrics, 404s and 405s.
import t from 'tap';
import net from 'node:net';
import { startRig } from '../ws/fixture.js';

t.test('GET / serves the page with a strict content security policy', async (t) => {
  const rig = await startRig(t, { lightning: false });
  const res = await fetch(`http://127.0.0.1:${rig.http.port}/`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(res.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'.*connect-src 'self'/);
  t.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const html = await res.text();
  t.match(html, /<script type="module" src="app\.js"><\/script>/);
  t.match(html, /id="status"[^>]*aria-live="polite"/, 'status changes are announced');
});

t.test('the script and the stylesheet are served with their types; HEAD sends no body', async (t) => {
  const rig = await startRig(t, { lightning: false });
  const base = `http://127.0.0.1:${rig.http.port}`;
  const js = await fetch(`${base}/app.js`);
  t.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.match(await js.text(), /new WebSocket/);
  const css = await fetch(`${base}/style.css?v=1`);
  t.equal(css.headers.get('content-type'), 'text/css; charset=utf-8', 'a query string is ignored');
  const head = await fetch(`${base}/`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.ok(Number(head.headers.get('content-length')) > 0);
  t.equal(await head.text(), '');
});

t.test('/healthz answers ok; /metrics is the given handler, or 404 without one', async (t) => {
  const plain = await startRig(t, { lightning: false });
  const health = await fetch(`http://127.0.0.1:${plain.http.port}/healthz`);
  t.equal(health.status, 200);
  t.equal(await health.text(), 'ok');
  t.equal((await fetch(`http://127.0.0.1:${plain.http.port}/metrics`)).status, 404);
  const withMetrics = await startRig(t, {
    lightning: false,
    http: { metrics: (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('tp_up 1\n'); } },
  });
  const metrics = await fetch(`http://127.0.0.1:${withMetrics.http.port}/metrics`);
  t.equal(metrics.status, 200);
  t.equal(await metrics.text(), 'tp_up 1\n');
});

t.test('a failing metrics handler answers 500 and is logged', async (t) => {
  const rig = await startRig(t, { lightning: false, http: { metrics: () => Promise.reject(new Error('boom')) } });
  t.equal((await fetch(`http://127.0.0.1:${rig.http.port}/metrics`)).status, 500);
  t.ok(rig.sink.messages().includes('http request failed'));
});

t.test('other paths are 404, other methods 405, and /ws without an upgrade 426', async (t) => {
  const rig = await startRig(t, { lightning: false });
  const base = `http://127.0.0.1:${rig.http.port}`;
  t.equal((await fetch(`${base}/nope`)).status, 404);
  t.equal((await fetch(`${base}/../package.json`)).status, 404);
  t.equal((await fetch(`${base}/web/app.js`)).status, 404);
  const post = await fetch(`${base}/`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.equal((await fetch(`${base}/ws`)).status, 426);
});

/** Sends raw request bytes and resolves with all the server answers before it closes (or 2 s pass). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (s: string) => { got += s; if (got.includes('\r\n\r\n')) socket.end(); });
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
    socket.write(text);
  });
}

t.test('a request target the URL parser refuses ("//", "/\\", "//a:b@") is a 400, upgrade or not, and the server goes on', async (t) => {
  const rig = await startRig(t, { lightning: false });
  for (const target of ['//', '/\\', '//a:b@']) {
    const upgrade = await raw(rig.http.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    t.match(upgrade, /^HTTP\/1\.1 400 /, `upgrade to ${target}: 400`);
    const plainGet = await raw(rig.http.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.match(plainGet, /^HTTP\/1\.1 400 /, `GET ${target}: 400`);
    const l402 = await raw(rig.http.port, `GET /l402/${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.notMatch(l402, /^HTTP\/1\.1 500 /, `GET /l402/${target}: not a 500`);
  }
  t.equal((await fetch(`http://127.0.0.1:${rig.http.port}/healthz`)).status, 200, 'still serving');
  t.notOk(rig.sink.messages().includes('http request failed'), 'no request failed');
});

t.test('sockets are capped per address at accept; closing one makes room, and the refusals are one line', async (t) => {
  const rig = await startRig(t, { lightning: false, http: { socketLimits: { maxSocketsPerPeer: 3 } } });
  const open = (): Promise<net.Socket> => new Promise((resolve, reject) => {
    const s = net.connect(rig.http.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const closed = (s: net.Socket): Promise<void> => new Promise((resolve) => { if (s.destroyed) resolve(); else s.once('close', () => resolve()); });
  const held = [await open(), await open(), await open()];
  t.teardown(() => { for (const s of held) s.destroy(); });
  const fourth = await open();
  await closed(fourth);
  t.pass('the fourth from this address is closed');
  const fifth = await open();
  await closed(fifth);
  t.equal(rig.sink.messages().filter((m) => m === 'connection refused: too many connections').length, 1, 'one line');
  t.equal(rig.http.refused, 2, 'both refusals are counted (tickerplant_connections_refused_total{listener="http"})');
  const gone = held.shift() as net.Socket;
  gone.destroy();
  await closed(gone);
  await new Promise((r) => setImmediate(r));
  const back = await open();
  held.push(back);
  const refused = await raw(rig.http.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').catch(() => '');
  t.equal(refused, '', 'with three held again, another is closed unanswered');
  back.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const reply = await new Promise<string>((resolve) => { let b = ''; back.on('data', (c: Buffer) => { b += c.toString(); }); back.once('close', () => resolve(b)); });
  t.match(reply, /^HTTP\/1\.1 200 /, 'the one let in after a close is served');
});
