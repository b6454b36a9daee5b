// What a Connection needs from the stream under it: a TCP, unix or TLS socket as they are, or a
// WebSocket seen as the bytes of its kdb+ messages (websocket.ts). The subset of net.Socket that
// connection.ts uses.

/** How a transport reports a violation of its own framing: one log line, then it closes itself. */
export type ViolationReport = (message: string, detail: Record<string, number>) => void;

export interface Transport {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly writableLength: number;
  readonly writableNeedDrain: boolean;
  readonly destroyed: boolean;
  /** Bytes of kdb+ traffic received (what minimum progress measures). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  setNoDelay(noDelay?: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  /** `done` runs once the chunk has left (or failed to); a transport's writes complete in order. */
  write(chunk: Buffer, done?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  pause(): unknown;
  resume(): unknown;
  end(): unknown;
  destroy(err?: Error): unknown;
  /** A framed transport (WebSocket) tells its Connection of framing violations here. */
  violations?(report: ViolationReport): void;
}
