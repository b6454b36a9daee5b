// A model check of the loss-free claim in src/lightning/cursor.ts: an in-memory lnd with §3.2's replay
// rules, a client that scans page by page, subscribes and saves its cursor as lnd.ts does, and random
// interleavings of adds, settles, expiries, stream ends and crashes. No settle may go unreported.
import fc from 'fast-check';
import t from 'tap';
import type { InvoiceState } from '../../src/payments/backend.js';
import { NO_CURSOR, ScanTally, StreamCursor, scanStart } from '../../src/lightning/cursor.js';
import type { Cursor } from '../../src/lightning/cursor.js';

interface Inv { addIndex: bigint; settleIndex: bigint; state: InvoiceState }
type Action =
  | { kind: 'add' } | { kind: 'settle'; pick: number } | { kind: 'expire'; pick: number }
  | { kind: 'step' } | { kind: 'check' } | { kind: 'reconnect' } | { kind: 'crash' };

const PAGE = 2;
const snapshot = (i: Inv): Inv => ({ ...i });

class ModelLnd {
  readonly invoices: Inv[] = [];
  private settles = 0n;
  queue: Inv[] | undefined; // the one subscription's undelivered messages

  add(): void {
    const inv: Inv = { addIndex: BigInt(this.invoices.length + 1), settleIndex: 0n, state: 'OPEN' };
    this.invoices.push(inv);
    this.queue?.push(snapshot(inv));
  }
  settle(pick: number): void {
    const open = this.invoices.filter((i) => i.state === 'OPEN');
    const inv = open[pick % Math.max(open.length, 1)];
    if (!inv) return;
    inv.state = 'SETTLED';
    inv.settleIndex = ++this.settles;
    this.queue?.push(snapshot(inv));
  }
  expire(pick: number): void {
    const open = this.invoices.filter((i) => i.state === 'OPEN');
    const inv = open[pick % Math.max(open.length, 1)];
    if (inv) inv.state = 'CANCELED';
  }
  list(offset: bigint, limit = PAGE): Inv[] {
    return this.invoices.filter((i) => i.addIndex > offset).slice(0, limit).map(snapshot);
  }
  subscribe(from: Cursor): void {
    const adds = from.addIndex === 0n ? [] : this.invoices.filter((i) => i.addIndex > from.addIndex && i.state !== 'CANCELED');
    const settles = from.settleIndex === 0n ? [] : this.invoices.filter((i) => i.settleIndex > from.settleIndex)
      .sort((a, b) => (a.settleIndex < b.settleIndex ? -1 : 1));
    this.queue = [...adds, ...settles].map(snapshot);
  }
}

/** The client's connection steps, mirroring LndBackend.reconcile/subscribe. */
class ModelClient {
  saved: Cursor = NO_CURSOR;
  memory: Cursor = NO_CURSOR;
  readonly reported = new Set<bigint>(); // add_index of every invoice ever reported as settled
  private phase: 'scan' | 'register' | 'stream' = 'scan';
  private offset = 0n;
  private tally = new ScanTally(NO_CURSOR, 0n);
  private tracker = new StreamCursor(NO_CURSOR);

  constructor(private readonly lnd: ModelLnd, private readonly margin: bigint) {
    this.connect();
  }

  connect(): void {
    this.lnd.queue = undefined;
    this.offset = scanStart(this.memory, this.margin);
    this.tally = new ScanTally(this.memory, this.offset);
    this.phase = 'scan';
  }
  crash(): void {
    this.memory = this.saved;
    this.connect();
  }
  /** One network step; false when there is nothing left to do. */
  step(): boolean {
    if (this.phase === 'scan') {
      const page = this.lnd.list(this.offset);
      this.tally.page(page);
      this.report(page);
      const last = page[page.length - 1];
      if (page.length < PAGE || !last) {
        this.memory = this.saved = this.tally.subscription();
        this.phase = 'register';
      } else {
        this.offset = last.addIndex;
      }
      return true;
    }
    if (this.phase === 'register') {
      this.lnd.subscribe(this.memory);
      this.tracker = new StreamCursor(this.memory);
      this.phase = 'stream';
      this.offset = 0n;
      return true;
    }
    const next = this.lnd.queue?.shift();
    if (!next) return this.check();
    this.tracker.see(next);
    this.memory = this.tracker.current;
    if (next.state === 'SETTLED') {
      this.report([next]);
      this.saved = this.memory;
    }
    return true;
  }

  /** One page of the re-list that follows a subscription made with settle_index 0. */
  check(): boolean {
    if (this.phase !== 'stream' || this.tracker.recheck === 'none') return false;
    const first = this.tracker.recheck === 'first';
    const page = this.lnd.list(this.offset, first ? 1 : PAGE);
    this.report(page);
    const last = page[page.length - 1];
    if (first || page.length < PAGE || !last) {
      this.tracker.rechecked();
      this.memory = this.saved = this.tracker.current;
    } else {
      this.offset = last.addIndex;
    }
    return true;
  }

  private report(invoices: readonly Inv[]): void {
    for (const i of invoices) if (i.state === 'SETTLED') this.reported.add(i.addIndex);
  }
}

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant<Action>({ kind: 'add' }), weight: 4 },
  { arbitrary: fc.nat(20).map((pick): Action => ({ kind: 'settle', pick })), weight: 4 },
  { arbitrary: fc.nat(20).map((pick): Action => ({ kind: 'expire', pick })), weight: 1 },
  { arbitrary: fc.constant<Action>({ kind: 'step' }), weight: 6 },
  { arbitrary: fc.constant<Action>({ kind: 'check' }), weight: 2 },
  { arbitrary: fc.constant<Action>({ kind: 'reconnect' }), weight: 1 },
  { arbitrary: fc.constant<Action>({ kind: 'crash' }), weight: 1 },
);

function run(actions: readonly Action[], margin: bigint): { missing: bigint[]; lnd: ModelLnd } {
  const lnd = new ModelLnd();
  const client = new ModelClient(lnd, margin);
  for (const a of actions) {
    if (a.kind === 'add') lnd.add();
    else if (a.kind === 'settle') lnd.settle(a.pick);
    else if (a.kind === 'expire') lnd.expire(a.pick);
    else if (a.kind === 'step') client.step();
    else if (a.kind === 'check') client.check();
    else if (a.kind === 'reconnect') client.connect();
    else client.crash();
  }
  while (client.step()) { /* drain */ }
  const missing = lnd.invoices.filter((i) => i.state === 'SETTLED' && !client.reported.has(i.addIndex)).map((i) => i.addIndex);
  return { missing, lnd };
}

for (const margin of [0n, 3n]) {
  t.test(`every settle is reported across stream ends and crashes (replay margin ${margin})`, async (t) => {
    fc.assert(fc.property(fc.array(action, { maxLength: 60 }), (actions) => run(actions, margin).missing.length === 0),
      { numRuns: 2000, seed: 20260101 });
    t.pass('no interleaving lost a settle');
  });
}

t.test('a settle between a cold scan and the subscription is found by the re-list that follows', async (t) => {
  const { missing } = run([{ kind: 'add' }, { kind: 'step' }, { kind: 'settle', pick: 0 }, { kind: 'add' },
    { kind: 'settle', pick: 0 }], 0n);
  t.same(missing, []);
});

const A: Action = { kind: 'add' };
const S0: Action = { kind: 'settle', pick: 0 };
const STEP: Action = { kind: 'step' };
/** Two invoices, a cold scan over two pages, the subscription, #1 settled and the re-list done: {2, 1}. */
const ESTABLISHED: readonly Action[] = [A, A, STEP, STEP, STEP, S0, STEP, STEP, STEP];

t.test('a settle replayed as an add cannot let a crash skip an older settle', async (t) => {
  // Reconnect; between the scan and the subscription #2 (old) then #3 (new) settle. The add backlog
  // brings #3 first; a crash right after it must not resume past #2.
  const { missing } = run([...ESTABLISHED, { kind: 'reconnect' }, STEP, A, S0, S0, STEP, STEP, { kind: 'crash' }], 0n);
  t.same(missing, []);
});

t.test('a partial scan does not move the settle cursor past settles below its window', async (t) => {
  const { missing } = run([...ESTABLISHED, { kind: 'reconnect' }, A, S0, S0, STEP], 0n);
  t.same(missing, []);
});
