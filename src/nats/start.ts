// One entry for the composition root: the NATS part a tickerplant runs as (primary bridge, edge or
// hot-standby member), behind one small interface.
import { accessSync, constants } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { ConfigError, Q, QError } from '../errors.js';
import type { QValue } from '../ipc/index.js';
import type { Tickerplant } from '../tick/index.js';
import { PrimaryBridge } from './bridge.js';
import { Edge } from './edge.js';
import { HotStandby } from './ha.js';
import { checkSource } from './names.js';

export type NatsMode = 'primary' | 'edge' | 'ha';

export interface NatsStartOptions {
  readonly servers: string;
  readonly credsFile?: string | undefined;
  readonly replicas: number;
  readonly failoverMs: number;
  readonly src: string;
  /** DST, the journal directory (the primary's bridge reads it). */
  readonly dir: string | undefined;
  readonly tp: Tickerplant;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface NatsPart {
  readonly mode: NatsMode;
  /** tickerplant_nats_lag_records: primary, journal records the stream has not acknowledged; edge and
   *  standby, stream messages not applied here yet. */
  lag(): number;
  /** The primary's wake-up when a record is journaled; a no-op otherwise. */
  wake(): void;
  /** The local journal failed a write: an edge or standby follows the stream again from its end. */
  journalFailed(): void;
  /** Takes .u.upd instead of the tickerplant (edge: refused; HA: 'standby or stored in the stream first). */
  readonly upd: ((t: string, x: QValue) => Promise<QValue>) | undefined;
  /** Primary: the longest journal record the stream takes (longer updates are refused with 'limit). */
  readonly maxRecordBytes?: () => number;
  /** HA: undefined while the leader can store more now, else when it can (feeds are not read meanwhile). */
  readonly room?: () => Promise<void> | undefined;
  /** 'primary', 'edge', or the HA role ('leader', 'standby', ...). */
  role(): string;
  /** Whether the NATS connection is up. */
  up(): boolean;
  close(): Promise<void>;
}

export function startNats(mode: NatsMode, o: NatsStartOptions): NatsPart {
  const src = checkSource(o.src);
  // Found at start, not by a connection that retries for ever in the background.
  if (o.credsFile !== undefined) {
    try {
      accessSync(o.credsFile, constants.R_OK);
    } catch {
      throw new ConfigError(`--nats-creds: cannot read ${o.credsFile}`);
    }
  }
  const common = { servers: o.servers, credsFile: o.credsFile, src, clock: o.clock, log: o.log };
  if (mode === 'primary') {
    if (o.dir === undefined) throw new ConfigError('nats: the primary bridge needs DST');
    const bridge = new PrimaryBridge({ ...common, dir: o.dir, replicas: o.replicas, tp: o.tp });
    const timer = o.clock.every(1000, bridge.wake); // end of day without a record after it
    bridge.start();
    return {
      mode, upd: undefined, maxRecordBytes: () => bridge.recordLimit(), lag: () => bridge.lag(), wake: bridge.wake, journalFailed: () => {}, role: () => 'primary',
      up: () => bridge.natsUp,
      close: async () => { timer.cancel(); await bridge.close(); },
    };
  }
  if (mode === 'edge') {
    const edge = new Edge({ ...common, tp: o.tp });
    edge.start();
    return {
      mode, lag: () => edge.lag(), wake: () => {}, role: () => 'edge', close: () => edge.close(), up: () => edge.natsUp,
      journalFailed: () => edge.follower.journalFailed(),
      // An edge's journal is the primary's: a local feed would fork it.
      upd: () => { throw new QError(Q.edge); },
    };
  }
  const ha = new HotStandby({ ...common, replicas: o.replicas, tp: o.tp, failoverMs: o.failoverMs });
  ha.start();
  return {
    mode, lag: () => ha.lag(), wake: () => {}, role: () => ha.role, close: () => ha.close(), up: () => ha.natsUp,
    journalFailed: () => ha.follower.journalFailed(),
    upd: (t, x) => ha.upd(t, x),
    room: () => ha.room(),
  };
}
