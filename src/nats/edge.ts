// An edge tickerplant (--from-nats): a chained tickerplant whose upstream is TICK_<SRC>. It serves q and
// WebSocket subscribers (and the paywall) on another host; with DST its journal is the primary's, byte for
// byte, so r.q's (.u.sub[`;`];.u `i`L) and -11! replay work against it.
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { Clock, Timer } from '../clock.js';
import { backoffDelay } from '../backoff.js';
import { Follower } from './follower.js';
import type { FollowedTickerplant } from './follower.js';
import { streamName } from './names.js';
import { connectNats, isNotFound, jetstreamManager, watchLink } from './stream.js';
import type { NatsLink } from './stream.js';
import type { NatsOptions } from './stream.js';

export interface EdgeOptions extends NatsOptions {
  readonly src: string;
  readonly tp: FollowedTickerplant;
  readonly clock: Clock;
  readonly log: Logger;
}

export class Edge {
  readonly follower: Follower;
  private nc: NatsConnection | undefined;
  private link: NatsLink | undefined;

  /** Whether the NATS connection is up (tickerplant_nats_up). */
  get natsUp(): boolean { return this.link?.up ?? false; }
  private timer: Timer | undefined;
  private attempt = 0;
  private stopped = false;
  /** A 'waiting for the stream' line was written since it was last followed. */
  private waited = false;
  private readonly log: Logger;

  constructor(private readonly o: EdgeOptions) {
    this.follower = new Follower({ src: o.src, tp: o.tp, clock: o.clock, log: o.log });
    this.log = o.log.child({ mod: 'nats' });
  }

  lag(): number { return this.follower.pending; }

  start(): void { void this.run(); }

  private async run(): Promise<void> {
    try {
      if (!this.nc) {
        this.nc = await connectNats({ ...this.o, name: `tickerplant ${this.o.src} edge` }, {
          stopped: () => this.stopped,
          failing: (reason) => this.waiting(reason),
        });
        this.link = watchLink(this.nc, this.log);
      }
      if (this.stopped) { await this.nc.close(); return; }
      const jsm = await jetstreamManager(this.nc);
      await jsm.streams.info(streamName(this.o.src)); // not created here: the primary decides its replicas
      await this.follower.start(jetstream(this.nc), jsm);
    } catch (err) {
      if (this.stopped) return;
      const ms = backoffDelay(this.attempt++, { minDelayMs: 200, maxDelayMs: 5000 });
      this.waiting(isNotFound(err) ? `no stream ${streamName(this.o.src)} yet` : String(err));
      this.timer = this.o.clock.after(ms, () => void this.run());
      return;
    }
    this.waited = false; // the follower says 'following the stream'
    this.attempt = 0;
  }

  /** One line until the stream is followed, however many retries it takes. */
  private waiting(reason: string): void {
    if (!this.waited) this.log.warn({ err: reason }, 'waiting for the stream');
    this.waited = true;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.follower.close();
    await this.nc?.close().catch(() => {});
  }
}
