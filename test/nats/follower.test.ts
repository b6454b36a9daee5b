// Following TICK_<SRC> into a tickerplant (src/nats/follower.ts), against a real nats-server: records applied
// byte for byte in stream order, from the local journal's end, day ends applied, foreign or stale messages
// ignored, and a failed journal write followed by a restart from the journal's end.
// Spec: docs.nats.io JetStream ordered consumers; KxSystems/kdb tick/chainedtick.q.
import t from 'tap';
import type { Test } from 'tap';
import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { ManualClock } from '../../src/clock.js';
import { Q, QError } from '../../src/errors.js';
import { floats, list, symbols, timespans } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';
import { updRecord } from '../../src/journal/index.js';
import { createLogger } from '../../src/log.js';
import { Follower } from '../../src/nats/follower.js';
import type { FollowedTickerplant } from '../../src/nats/follower.js';
import { END, endSubject, msgId, tableSubject } from '../../src/nats/names.js';
import { connectNats, ensureStream, jetstreamManager } from '../../src/nats/stream.js';
import { haveNats, natsServer } from '../helpers/nats.js';
import { LogSink, T0 } from '../helpers/tp.js';

const SRC = 'F';
const D = 8767;

/** What the follower asks of a tickerplant, recorded: appended records, day ends, batch flushes. */
class Recorder implements FollowedTickerplant {
  d = D;
  batch = false;
  records: number | undefined;
  readonly log: string[] = [];
  failNext = 0;
  /** Whether a day holding nothing takes an earlier date (the real tickerplant's adoptDate). */
  adopts = false;
  journalStats(): { records: number } | undefined { return this.records === undefined ? undefined : { records: this.records }; }
  appendRecord(t: string, _x: QValue, record: Buffer): void {
    if (this.failNext > 0) { this.failNext--; throw new QError(Q.journal); }
    this.log.push(`${t}:${record.toString('hex')}`);
    if (this.records !== undefined) this.records++;
  }
  flushBatch(): void { this.log.push('flush'); }
  adoptDate(d: number): boolean {
    if (!this.adopts || d >= this.d || this.log.length > 0) return false;
    this.log.push(`adopt ${d}`);
    this.d = d;
    return true;
  }
  endOfDay(): void { this.log.push(`end ${this.d}`); this.d++; if (this.records !== undefined) this.records = 0; }
}

const rec = (i: number): Buffer => updRecord('trade', list(timespans([BigInt(i)]), symbols(['IBM']), floats([i])));
const applied = (i: number): string => `trade:${rec(i).toString('hex')}`;

interface Rig {
  readonly sink: LogSink;
  readonly clock: ManualClock;
  publish(date: number, index: number, data?: Buffer, withId?: boolean): Promise<number>;
  follow(tp: Recorder): Promise<Follower>;
}

async function rig(t: Test): Promise<Rig> {
  const server = await natsServer(t, t.testdir());
  const nc = await connectNats({ servers: server.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, SRC, 1);
  const js = jetstream(nc);
  const sink = new LogSink();
  const clock = new ManualClock(T0);
  return {
    sink, clock,
    async publish(date, index, data, withId = true) {
      const h = headers();
      if (withId) h.set('Nats-Msg-Id', msgId({ date, index }));
      const subject = index === END ? endSubject(SRC) : tableSubject(SRC, 'trade');
      return (await js.publish(subject, data ?? (index === END ? new Uint8Array(0) : rec(index)), { headers: h })).seq;
    },
    async follow(tp) {
      const f = new Follower({ src: SRC, tp, clock, log: createLogger('debug', sink) });
      t.teardown(() => f.close());
      await f.start(js, jsm);
      return f;
    },
  };
}

const opts = { skip: !haveNats && 'no nats-server' };

t.test('without a journal it follows from the next message stored, each record byte for byte in order', opts, async (t) => {
  const r = await rig(t);
  await r.publish(D, 0);
  const tp = new Recorder();
  const f = await r.follow(tp);
  await r.publish(D, 1);
  const last = await r.publish(D, 2);
  await f.caughtUp(last);
  t.same(tp.log, [applied(1), applied(2)], 'the message stored before it started is not applied');
  t.equal(f.applied, 2);
  t.equal(f.seq, last);
});

t.test('with a journal it starts after the journal\'s last record, whatever is stored before it', opts, async (t) => {
  const r = await rig(t);
  for (let i = 0; i < 5; i++) await r.publish(D, i);
  const tp = new Recorder();
  tp.records = 3;
  const f = await r.follow(tp);
  const last = await r.publish(D, 5);
  await f.caughtUp(last);
  t.same(tp.log, [applied(3), applied(4), applied(5)]);
});

t.test('an end-of-day message ends the day, batch rows flushed first; a later day\'s record without one rolls over', opts, async (t) => {
  const r = await rig(t);
  r.clock.advanceMs(3 * 86_400_000); // the local date is D + 3; the tickerplant's is still D
  const tp = new Recorder();
  tp.batch = true;
  const f = await r.follow(tp);
  await r.publish(D, 0);
  await r.publish(D, END);
  await r.publish(D + 1, 0);
  const last = await r.publish(D + 3, 0);
  await f.caughtUp(last);
  t.same(tp.log, [applied(0), 'flush', `end ${D}`, applied(0), 'flush', `end ${D + 1}`, 'flush', `end ${D + 2}`, applied(0)]);
  t.ok(r.sink.lines.some((l) => l['msg'] === 'end of day missing from the stream; rolled over'));
});

t.test('messages without our id, of a past day, or not an upd record are ignored with a line each', opts, async (t) => {
  const r = await rig(t);
  const tp = new Recorder();
  const f = await r.follow(tp);
  await r.publish(D, 0, undefined, false);
  await r.publish(D - 1, 0);
  await r.publish(D, 0, Buffer.from('f561626300', 'hex')); // `abc, not (`upd;t;x)
  const last = await r.publish(D, 1);
  await f.caughtUp(last);
  t.same(tp.log, [applied(1)]);
  const msgs = r.sink.lines.map((l) => l['msg']);
  t.ok(msgs.includes('message without a tickerplant Nats-Msg-Id ignored'));
  t.ok(msgs.includes('record of a past day ignored'));
  t.ok(msgs.includes('stream message is not an upd record; ignored'));
});

t.test('a message dated more than a day past the local date is ignored, logged once: one bad id cannot roll days without bound', opts, async (t) => {
  const r = await rig(t);
  const tp = new Recorder();
  const f = await r.follow(tp);
  await r.publish(D + 1, 0); // a primary a day ahead (its offset): followed
  await r.publish(D + 5000, END);
  await r.publish(D + 5000, 0);
  const last = await r.publish(D + 1, 1);
  await f.caughtUp(last);
  t.same(tp.log, [`end ${D}`, applied(0), applied(1)]);
  t.equal(tp.d, D + 1);
  t.equal(r.sink.lines.filter((l) => l['msg'] === 'stream message dated more than a day ahead ignored').length, 1);
});

t.test('stream and journal out of step is logged when it starts, not for every message after', opts, async (t) => {
  const r = await rig(t);
  const tp = new Recorder();
  tp.records = 0;
  const f = await r.follow(tp);
  await r.publish(D, 0);
  await r.publish(D, 2); // one missing from the stream: the journal has 1 record, this says index 2
  await r.publish(D, 3);
  const last = await r.publish(D, 4);
  await f.caughtUp(last);
  t.equal(tp.log.length, 4, 'applied all the same');
  t.equal(r.sink.lines.filter((l) => l['msg'] === 'stream and journal out of step').length, 1);
});

t.test("an empty day takes the stream's earlier date (a primary behind our clock) and follows that day from its start", opts, async (t) => {
  const r = await rig(t);
  const tp = new Recorder();
  tp.records = 0;
  tp.adopts = true;
  const f = await r.follow(tp);
  // Stored after the follower started at (D, 0): yesterday's by the primary's clock.
  await r.publish(D - 1, 0);
  await r.publish(D - 1, 1);
  const last = await r.publish(D - 1, 2);
  await f.caughtUp(last);
  t.same(tp.log, [`adopt ${D - 1}`, applied(0), applied(1), applied(2)], 'nothing of that day is skipped');
  t.equal(tp.d, D - 1);
  t.ok(r.sink.lines.some((l) => l['msg'] === 'stream on an earlier day: following its date'));
});

t.test('an empty day never takes a date further back than yesterday: stale ids are ignored, no day is rolled', opts, async (t) => {
  const r = await rig(t);
  const tp = new Recorder();
  tp.records = 0;
  tp.adopts = true;
  const f = await r.follow(tp);
  await r.publish(D - 5000, 0); // a stray id from long ago
  await r.publish(D - 2, 0);
  const last = await r.publish(D, 0);
  await f.caughtUp(last);
  t.same(tp.log, [applied(0)], 'no day adopted, no day rolled');
  t.equal(tp.d, D);
});

t.test('a failed journal write pauses following; after the backoff it follows again from the journal\'s end', opts, async (t) => {
  const r = await rig(t);
  const tp = new Recorder();
  tp.records = 0;
  const f = await r.follow(tp);
  tp.failNext = 1;
  await r.publish(D, 0);
  const deadline = Date.now() + 5000;
  while (!f.rewinding && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  t.equal(f.rewinding, true, 'paused by the failed write');
  const last = await r.publish(D, 1);
  r.clock.advanceMs(100);
  await f.caughtUp(last);
  t.equal(f.rewinding, false);
  t.same(tp.log, [applied(0), applied(1)], 'the withdrawn record was taken again from the stream');
});
