// Every live subscriber by handle, whatever its transport.
import t from 'tap';
import { SubscriberRegistry } from '../../src/tick/registry.js';
import type { Subscriber } from '../../src/tick/events.js';

const sub = (handle: number): Subscriber => ({ handle, deliver: () => {} });

t.test('a subscriber is found by its handle until it is removed', async (t) => {
  const r = new SubscriberRegistry();
  const a = sub(7);
  r.add(a);
  t.equal(r.get(7), a);
  t.equal(r.size, 1);
  r.remove(7);
  t.equal(r.get(7), undefined);
  t.equal(r.size, 0);
  r.remove(7);
  t.equal(r.size, 0, 'removing a gone handle is harmless');
});

t.test('handles handed out for non-IPC subscribers are negative, distinct and never reused', async (t) => {
  const r = new SubscriberRegistry();
  const seen = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const h = r.localHandle();
    t.ok(h < 0, 'cannot collide with q\'s .z.w');
    seen.add(h);
    r.add(sub(h));
    r.remove(h);
  }
  t.equal(seen.size, 100, 'a removed handle is not handed out again');
});

t.test('IPC and local subscribers live side by side; a later add under the same handle replaces', async (t) => {
  const r = new SubscriberRegistry();
  const ipc = sub(5);
  const ws = sub(r.localHandle());
  r.add(ipc);
  r.add(ws);
  t.equal(r.size, 2);
  t.equal(r.get(5), ipc);
  t.equal(r.get(ws.handle), ws);
  const again = sub(5);
  r.add(again);
  t.equal(r.get(5), again, 'a reused q handle is the new connection');
  t.equal(r.size, 2);
});

t.test('two registries hand out handles independently', async (t) => {
  t.equal(new SubscriberRegistry().localHandle(), new SubscriberRegistry().localHandle());
});
