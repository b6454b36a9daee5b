// The HTTP listener: the page's files with a strict CSP, /healthz, /metrics, 404s and 405s.
import t from 'tap';
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
