// Every live subscriber by handle, whatever its transport: IPC connections register under q's handle
// (.z.w), others (WebSocket clients) under a handle handed out here, so one lookup serves the paywall,
// .u.sub and the gateways alike.
import type { Subscriber } from './events.js';

export class SubscriberRegistry {
  private readonly byHandle = new Map<number, Subscriber>();
  /** Handles for non-IPC subscribers: negative, never reused, so they cannot collide with q's .z.w. */
  private nextLocal = -1;

  /** A fresh handle for a subscriber that has no q handle of its own. */
  localHandle(): number { return this.nextLocal--; }

  add(s: Subscriber): void { this.byHandle.set(s.handle, s); }

  remove(handle: number): void { this.byHandle.delete(handle); }

  /** The live subscriber behind a handle, or undefined once it has gone. */
  get(handle: number): Subscriber | undefined { return this.byHandle.get(handle); }

  get size(): number { return this.byHandle.size; }
}
