// Connection limits, checked before anything is allocated. Defaults are documented in README.md.
export interface Limits {
  /** Largest message accepted (wire or decompressed size). [maxMessageBytes=256 MiB] */
  readonly maxMessageBytes: number;
  /** Longest handshake (credentials + capability + NUL). [maxHandshakeBytes=1024] */
  readonly maxHandshakeBytes: number;
  /** Deepest nesting accepted in a message. [maxDepth=64] */
  readonly maxDepth: number;
  /** Outbound bytes queued for one client before it is dropped as a slow consumer. [maxQueuedBytes=64 MiB] */
  readonly maxQueuedBytes: number;
  /** Time allowed from connect to a complete handshake. [handshakeTimeoutMs=5000] */
  readonly handshakeTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 256 * 1024 * 1024,
  maxHandshakeBytes: 1024,
  maxDepth: 64,
  maxQueuedBytes: 64 * 1024 * 1024,
  handshakeTimeoutMs: 5000,
};
