// Shared pieces for the lnd client tests: a pino logger that keeps its lines, a client pointed at a fake
// lnd, and waiting for backend events with a deadline (../shared/reference/lightning.md §3.6).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { BackendStatus, Invoice } from '../../src/payments/backend.js';
import { LndBackend } from '../../src/lightning/lnd.js';
import type { LndBackendOptions } from '../../src/lightning/lnd.js';
import { FAKE_LND_CERT, startFakeLnd } from '../helpers/fake-lnd.js';
import type { FakeLnd, FakeLndOptions } from '../helpers/fake-lnd.js';

/** The one thing the helpers need from a tap test. */
export interface WithTeardown {
  teardown(fn: () => unknown): void;
}

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: string[];
}

export function capturedLog(): CapturedLog {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'trace' }, sink), lines };
}

/** A started fake lnd, stopped in teardown. */
export async function fakeFor(t: WithTeardown, options: Partial<FakeLndOptions> = {}): Promise<FakeLnd> {
  const fake = await startFakeLnd(options);
  t.teardown(() => fake.stop());
  return fake;
}

/** An LndBackend (not started) aimed at `fake`, closed in teardown; small backoff keeps tests quick. */
export function clientFor(t: WithTeardown, fake: FakeLnd, overrides: Partial<LndBackendOptions> = {}): LndBackend & { logged: string[] } {
  const { log, lines } = capturedLog();
  const client = new LndBackend({
    host: fake.host, tlsCert: FAKE_LND_CERT, macaroon: fake.macaroon, log, backoff: { initialMs: 10, maxMs: 50 }, ...overrides,
  });
  t.teardown(() => client.close());
  return Object.assign(client, { logged: lines });
}

/** Resolves with the next status that satisfies `wanted` (or the current one if it already does). */
export function statusWhere(client: LndBackend, wanted: (s: BackendStatus) => boolean, ms = 5000): Promise<BackendStatus> {
  if (wanted(client.status())) return Promise.resolve(client.status());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('status', listener);
      reject(new Error(`no matching status within ${ms} ms; last: ${JSON.stringify(client.status())}`));
    }, ms);
    const listener = (s: BackendStatus): void => {
      if (!wanted(s)) return;
      clearTimeout(timer);
      client.off('status', listener);
      resolve(s);
    };
    client.on('status', listener);
  });
}

/** Records every 'settled' event; `waitFor` resolves once the hash has been reported. */
export class SettledLog {
  readonly seen: Invoice[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(client: LndBackend) {
    client.on('settled', (invoice: Invoice) => {
      this.seen.push(invoice);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  count(rHash: Buffer): number {
    return this.seen.filter((inv) => inv.rHash.equals(rHash)).length;
  }

  async waitFor(rHash: Buffer, ms = 5000): Promise<Invoice> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.seen.find((inv) => inv.rHash.equals(rHash));
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no 'settled' for ${rHash.toString('hex')} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
}

/** A fresh directory for state files, removed in teardown. */
export function tempDir(t: WithTeardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'lnd-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
