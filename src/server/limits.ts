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
  /**
   * Bytes held for messages not yet fully received, summed over every connection; past it the connection
   * holding the most is dropped. [maxInboundBytes=512 MiB]
   */
  readonly maxInboundBytes: number;
  /**
   * A message once started must receive at least MIN_PROGRESS_BYTES (or the rest of it) in every period
   * of this many ms, else the connection is dropped (slow-loris frames). [readTimeoutMs=30000]
   */
  readonly readTimeoutMs: number;
  /** Connections at once, handshaking ones included; more are closed at accept. [maxConnections=4096] */
  readonly maxConnections: number;
  /** Connections at once from one peer: an IPv4 address or an IPv6 /64 (unix socket: exempt). [maxConnectionsPerPeer=2048] */
  readonly maxConnectionsPerPeer: number;
}

/** What a started message must gain per readTimeoutMs (or its remainder, if less). */
export const MIN_PROGRESS_BYTES = 64 * 1024;

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 256 * 1024 * 1024,
  maxHandshakeBytes: 1024,
  maxDepth: 64,
  maxQueuedBytes: 64 * 1024 * 1024,
  handshakeTimeoutMs: 5000,
  maxInboundBytes: 512 * 1024 * 1024,
  readTimeoutMs: 30_000,
  maxConnections: 4096,
  maxConnectionsPerPeer: 2048,
};
