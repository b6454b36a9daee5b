// Pipelined JetStream publishes against a real nats-server: acks carry the stream sequence; a wrong
// expected last sequence, a subject no stream takes, and an ack that never comes are errors; a re-publish
// of a Nats-Msg-Id is acknowledged as a duplicate.
import t from 'tap';
import type { Test } from 'tap';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ManualClock } from '../../src/clock.js';
import { StreamPublisher } from '../../src/nats/publisher.js';
import { T0, until } from '../helpers/tp.js';
import { haveNats, natsServer } from '../helpers/nats.js';

interface Outcome { readonly token: number | undefined; readonly seq?: number; readonly duplicate?: boolean; readonly err?: string }

async function setUp(t: Test): Promise<{ nc: NatsConnection; clock: ManualClock; out: Outcome[]; pub: StreamPublisher<number> }> {
  const nats = await natsServer(t, t.testdir());
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'S', subjects: ['s.>'], duplicate_window: 60_000_000_000 });
  const clock = new ManualClock(T0);
  const out: Outcome[] = [];
  const pub = new StreamPublisher<number>(nc, {
    clock, ackTimeoutMs: 5000,
    onAck: (token, seq, duplicate) => out.push({ token, seq, duplicate }),
    onError: (token, err) => out.push({ token, err }),
  });
  t.teardown(() => pub.close());
  return { nc, clock, out, pub };
}

const data = (i: number): Uint8Array => Buffer.from(`record ${i}`);

t.test('a window of publishes is acknowledged in order with the stream sequences', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const { out, pub } = await setUp(t);
  for (let i = 0; i < 1000; i++) pub.publish('s.a', data(i), `d:${i}`, i, i);
  t.equal(pub.inFlight, 1000, 'all in flight before any ack');
  await until(() => out.length === 1000, 10_000);
  t.same(out, Array.from({ length: 1000 }, (_, i) => ({ token: i, seq: i + 1, duplicate: false })), 'each acknowledged once, in order');
  t.equal(pub.inFlight, 0, 'none left in flight');
});

t.test('a wrong expected last sequence is refused; a repeated Nats-Msg-Id is a duplicate', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const { out, pub } = await setUp(t);
  pub.publish('s.a', data(0), 'd:0', 0, 0);
  pub.publish('s.a', data(1), 'd:1', 0, 1); // the stream is at 1 by then
  pub.publish('s.a', data(0), 'd:0', 1, 2);
  await until(() => out.length === 3, 10_000);
  t.same(out[0], { token: 0, seq: 1, duplicate: false }, 'the first is stored at 1');
  t.equal(out[1]?.token, 1, 'the second is answered');
  t.match(out[1]?.err, /wrong last sequence/, 'refused by the expected-last-sequence guard');
  t.same(out[2], { token: 2, seq: 1, duplicate: true }, 'the stored copy, not a second one');
});

t.test('messages sent without asking for an ack are covered by the next acked one, or make it fail',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const { out, pub } = await setUp(t);
    for (let i = 0; i < 3; i++) pub.publish('s.a', data(i), `d:${i}`, i);
    pub.publish('s.a', data(3), 'd:3', 3, 3);
    await until(() => out.length === 1, 10_000);
    t.same(out, [{ token: 3, seq: 4, duplicate: false }], 'one ack, at the fourth sequence: all four stored in place');
    pub.publish('s.a', data(4), 'd:4', 99); // refused silently: no reply asked
    pub.publish('s.a', data(5), 'd:5', 5, 5); // expects the stream at 5, which it is not
    await until(() => out.length === 2, 10_000);
    t.equal(out[1]?.token, 5, 'the next acked message is answered');
    t.match(out[1]?.err, /wrong last sequence: 4/, 'with the refusal that shows the earlier one missing');
  });

t.test('a subject no stream takes fails at once (no responders)', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const { out, pub } = await setUp(t);
  pub.publish('elsewhere', data(0), 'd:0', 0, 7);
  await until(() => out.length === 1, 10_000);
  t.equal(out[0]?.token, 7, 'the publish is answered');
  t.match(out[0]?.err, /503/, 'with the no-responders status');
});

t.test('an ack that never comes fails the whole window after the ack timeout', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const { nc, clock, out, pub } = await setUp(t);
  nc.subscribe('mute'); // a responder that never answers: no 503, no ack
  await nc.flush();
  pub.publish('mute', data(0), 'd:0', 0, 0);
  pub.publish('s.a', data(1), 'd:1', 0, 1);
  await until(() => out.length === 1, 10_000);
  t.same(out[0], { token: 1, seq: 1, duplicate: false }, 'the stream acknowledged its own');
  clock.advanceMs(4000);
  t.equal(out.length, 1, 'not yet overdue');
  clock.advanceMs(2500); // checked every quarter of the timeout
  t.same(out[1], { token: 0, err: 'ack timed out' }, 'overdue: failed');
  t.equal(pub.inFlight, 0, 'nothing left in flight');
});
