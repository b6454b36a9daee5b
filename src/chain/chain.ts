// chainedtick.q on top of the local Tickerplant: upstream's upd goes to tp.upd (zero-latency: published
// at once; batch: published on the timer), upstream's .u.end to the chained TP's subscribers, and
// forward() is .u.m for chainedr.q's `(`.u `m)"`.u `i`L"`: upstream's (.u.i;.u.L).
// Spec: KxSystems/kdb tick/chainedtick.q, tick/chainedr.q.
import type { Clock } from '../clock.js';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { str } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { TableSchema, Tickerplant } from '../tick/index.js';
import { parseUpstreamAddress } from './address.js';
import type { BackoffOptions } from '../backoff.js';
import { sameSchemas, schemaDifference } from './schemas.js';
import { Upstream } from './upstream.js';
import type { Subscription } from './upstream.js';

export interface ChainOptions extends BackoffOptions {
  readonly log: Logger;
  /** Retry and connect timers (the app's one clock); the system clock by default. */
  readonly timers?: Pick<Clock, 'after'>;
  readonly timeoutMs?: number;
  readonly maxMessageBytes?: number;
}

export interface Chain {
  /** host:port of the upstream tickerplant (no credentials). */
  readonly upstream: string;
  /** The tables, as upstream defines them. */
  readonly schemas: readonly TableSchema[];
  readonly connected: boolean;
  /** Feeds the local tickerplant from upstream from now on. */
  follow(tp: Tickerplant): void;
  /** .u.m: sends a query upstream (the q surface allows only the replay-point reads). */
  forward(query: string): Promise<QValue>;
  close(): void;
}

/**
 * Connects to `address` ([host]:port[:user:password]) and subscribes to every table, waiting while
 * upstream is not up. The chained TP's tables are upstream's; nothing reaches them before follow().
 */
export async function startChain(address: string, o: ChainOptions): Promise<Chain> {
  const upstream = new Upstream({ ...o, address: parseUpstreamAddress(address) });
  const first = await upstream.start();
  const log = o.log.child({ mod: 'chain', upstream: upstream.name });
  const schemas = first.schemas;

  return {
    upstream: upstream.name,
    schemas,
    get connected() { return upstream.connected; },
    close: () => upstream.close(),
    forward: (query: string) => upstream.query(str(query)),
    follow(tp: Tickerplant): void {
      if (first.date !== undefined) tp.followDate(first.date);

      /** u.q end, forwarded: the day's rows first (batch mode), then .u.end, then the next .u.d. */
      const end = (d: number): void => {
        tp.forwardEnd(d);
        log.info({ date: d }, 'end of day forwarded');
      };

      upstream.follow({
        resubscribed(s: Subscription): void {
          if (!sameSchemas(schemas, s.schemas)) {
            throw new ConfigError(`upstream tables changed (${schemaDifference(schemas, s.schemas)}); restart the chained tickerplant`);
          }
          // Days that ended while we were away: our subscribers still get their .u.end.
          // Not past tomorrow (an offset aside): tick.q refuses more than one day at once, and a date
          // such as 0Wd would roll without end.
          if (s.date !== undefined && s.date > tp.today + 1) {
            log.error({ d: tp.d, upstream: s.date, today: tp.today }, 'upstream date more than a day ahead; days not rolled');
          } else if (s.date !== undefined && s.date > tp.d) {
            log.warn({ from: tp.d, to: s.date }, 'end of day missed while disconnected');
            while (tp.d < s.date) end(tp.d);
          }
        },
        upd(t: string, x: QValue): void {
          try {
            tp.upd(t, x);
          } catch (err) {
            log.warn({ table: t, err: err instanceof Error ? err.message : String(err) }, 'bad update from upstream');
          }
        },
        end,
      });
    },
  };
}
