// What the tick domain tells its subscribers, as typed events: each carries the q message for IPC
// transports (encoded once, shared by every subscriber with the same selection) beside the values a
// gateway renders in its own format, so nothing decodes what the tickerplant just encoded.
// Spec: u.q pub ((`upd;t;x)), end ((`.u.end;d)); the seed's renewal ((`.u.renew;tables;invoice)).
import type { Outbound } from '../ipc/index.js';
import type { Column } from './columns.js';

/** Rows of one table, as u.q pub sends them: (`upd;t;table). */
export interface UpdEvent {
  readonly kind: 'upd';
  readonly table: string;
  /** Column names in schema order. */
  readonly names: readonly string[];
  /** Rows this subscriber is sent (its sym filter's selection). */
  readonly rows: number;
  /** The rows as columns, built on first use (IPC subscribers never need them). */
  columns(): readonly Column[];
  readonly message: Outbound;
}

/** End of day: (`.u.end;d). */
export interface EndEvent {
  readonly kind: 'end';
  /** The day that ended, q's date (days since 2000.01.01). */
  readonly date: number;
  readonly message: Outbound;
}

/** A renewal invoice for a paid entitlement that is about to run out: (`.u.renew;tables;invoice). */
export interface RenewEvent {
  readonly kind: 'renew';
  readonly tables: readonly string[];
  /** Hex payment hash. */
  readonly hash: string;
  readonly paymentRequest: string;
  readonly message: Outbound;
}

export type TickEvent = UpdEvent | EndEvent | RenewEvent;

/** Told when a payment enabled a subscription (q subscribers just start receiving data, as in the seed). */
export interface PaidEvent {
  /** Hex payment hash. */
  readonly hash: string;
  readonly tables: readonly string[];
  /**
   * Hex preimage, when the node told it and it is the hash's: the buyer's proof for `.u.subPaid` after a
   * reconnect, also when it paid from another wallet. Sent to this buyer only, never logged.
   */
  readonly preimage?: string | undefined;
}

/** Told when a paid period (--entitlement) ended unrenewed: the tables' data has stopped. */
export interface PeriodEndedEvent {
  /** Hex hash of the payment whose period ended. */
  readonly hash: string;
  readonly tables: readonly string[];
}

/** Anything that receives the tickerplant's events: an IPC handle, a WebSocket client, a chained TP. */
export interface Subscriber {
  /** q's handle (.z.w) for IPC clients; one the registry hands out for others. */
  readonly handle: number;
  /** May throw: the publisher isolates it (logged once, dropped), every other subscriber is still served. */
  deliver(event: TickEvent): void;
  paid?(event: PaidEvent): void;
  periodEnded?(event: PeriodEndedEvent): void;
}
