// Starts the tickerplant app in-process on port 0 for integration tests, closed in teardown.
import type { Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { parseCommandLine } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { DestinationStream } from 'pino';
import type { JournalIo } from '../../src/journal/index.js';

/** 2024.01.02D09:30:00 UTC as Unix ns: a fixed, known trading-day instant. */
export const T0 = 1_704_187_800_000_000_000n;

/** Collects pino lines for tests that assert on logs. */
export class LogSink implements DestinationStream {
  readonly lines: Array<Record<string, unknown>> = [];
  write(line: string): void {
    for (const l of line.split('\n')) if (l) this.lines.push(JSON.parse(l) as Record<string, unknown>);
  }
  messages(): string[] { return this.lines.map((l) => String(l['msg'])); }
  text(): string { return this.lines.map((l) => JSON.stringify(l)).join('\n'); }
}

export interface StartOptions {
  /** Extra command-line words, as a user would type them (e.g. ['-t', '100']). */
  readonly args?: string[];
  readonly clock?: Clock;
  readonly sink?: LogSink;
  /** The journal's system calls (to fail them as a full disk does). */
  readonly journalIo?: JournalIo;
}

export async function startTp(t: Test, opts: StartOptions = {}): Promise<App & { config: Config }> {
  const { config } = parseCommandLine(['-p', '0', '--unix', '', ...(opts.args ?? [])]);
  const sink = opts.sink ?? new LogSink();
  const log = createLogger('debug', sink);
  const app = await startApp(config, { log, clock: opts.clock ?? new ManualClock(T0), ...(opts.journalIo ? { journalIo: opts.journalIo } : {}) });
  t.teardown(() => app.close());
  return Object.assign(app, { config });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until pred holds, or fails the wait after `ms`. For state another process or socket changes. */
export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
