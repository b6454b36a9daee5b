// The NATS connection and the TICK_<SRC> stream: connect (waiting for NATS, so a tickerplant starts and
// runs while it is down), create the stream if absent, and find positions in it by Nats-Msg-Id.
// Spec: docs.nats.io (JetStream streams, file storage, replicas; $JS.API.STREAM.MSG.GET).
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { compare, parseMsgId, streamName, streamSubjects } from './names.js';
import type { Position } from './names.js';

export interface NatsOptions {
  /** nats://host:port, comma-separated for a cluster. */
  readonly servers: string;
  /** A .creds file (NATS decentralised auth). */
  readonly credsFile?: string | undefined;
  /** Connection name shown by the server (monitoring). */
  readonly name?: string;
  /** Dial the servers in the order listed rather than shuffled (the client's default spreads the load). */
  readonly inOrder?: boolean;
}

export function natsServers(servers: string): string[] {
  const list = servers.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new ConfigError('--nats needs at least one URL');
  return list;
}

/** What a caller of connectNats says while the first connection is being made. */
export interface ConnectHooks {
  /** Asked before each dial until connected: true gives up (the connect rejects). */
  readonly stopped: () => boolean;
  /** Once, when the first dial has failed, with the reason (a server refusing, credentials refused). */
  readonly failing: (reason: string) => void;
}

/**
 * Connects, waiting for as long as it takes (NATS down at start is normal); reconnects for ever afterwards.
 * Rejects only when `hooks.stopped()` or the credentials file cannot be read.
 */
export async function connectNats(o: NatsOptions, hooks?: ConnectHooks): Promise<NatsConnection> {
  // Read again at each (re)connect: rotated credentials are picked up, and a connection is not refused
  // (which ends it for good in the client) for credentials the file no longer holds.
  const file = o.credsFile;
  const creds = file !== undefined ? (): Uint8Array => readFileSync(file) : undefined;
  if (file !== undefined) readFileSync(file); // unreadable: refused now, not inside the client
  const options = {
    servers: natsServers(o.servers),
    name: o.name ?? 'tickerplant',
    noRandomize: o.inOrder ?? false,
    maxReconnectAttempts: -1,
    // Through authorization errors too: by default the client stops for good after two in a row, and a
    // server whose accounts are being changed would leave the tickerplant cut off until a restart.
    ignoreAuthErrorAbort: true,
    // Pings find a dead server (kill -9, partition) faster than TCP does.
    pingInterval: 2000,
    maxPingOut: 2,
    // The client otherwise builds two Error objects with stack traces per request (a JetStream publish is
    // one): most of the CPU a request costs.
    noAsyncTraces: true,
    ...(creds ? { authenticator: credsAuthenticator(creds) } : {}),
  };
  let connected = false;
  let dials = 0;
  const nc = await connect({
    ...options,
    // The client keeps every listed server and dials them in turn until one takes the connection. (Failing
    // at once instead would drop each server whose first dial failed, for good: a cluster partly down at
    // start would never be reconnected to its other members.)
    waitOnFirstConnect: true,
    // Called before each dial: the one place to give up, and to learn that the first one failed.
    reconnectDelayHandler: () => {
      if (!connected) {
        if (hooks?.stopped()) throw new Error('stopped before nats connected');
        if (++dials === 2 && hooks) void whyRefused(options).then((reason) => { if (reason !== undefined && !connected) hooks.failing(reason); });
      }
      return 250 + Math.floor(Math.random() * 100);
    },
  });
  connected = true;
  return nc;
}

/**
 * Why the servers refuse a connection now, from one attempt that fails at once; undefined if one takes it.
 * The waiting connect does not tell its reasons, and an operator needs to know "credentials" from "down".
 */
async function whyRefused(options: Parameters<typeof connect>[0]): Promise<string | undefined> {
  try {
    const probe = await connect({ ...options, waitOnFirstConnect: false, reconnect: false });
    await probe.close();
    return undefined;
  } catch (err) {
    return String(err instanceof Error ? err.message : err);
  }
}

/** Whether a connection is up, from its status events. */
export interface NatsLink { readonly up: boolean }

/**
 * Follows a connection's status: down at 'disconnect', up again at 'reconnect', each change logged once
 * (the client's reconnect attempts in between are not). Down for good once the connection closes.
 */
export function watchLink(nc: NatsConnection, log: Logger): NatsLink {
  const link = { up: true };
  // With the options above the client does not give up by itself: if it ever does, say so.
  void nc.closed().then((err) => {
    if (err) log.error({ err: err.message }, 'nats connection closed by the client for good; restart to connect again');
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' && link.up) {
        link.up = false;
        log.warn({ server: s.server }, 'nats disconnected; reconnecting');
      } else if (s.type === 'reconnect' && !link.up) {
        link.up = true;
        log.info({ server: s.server }, 'nats reconnected');
      }
    }
  })().catch(() => {}).finally(() => { link.up = false; });
  return link;
}

/** TICK_<SRC> as it is, created (file storage, `replicas` copies) when absent. */
export async function ensureStream(jsm: JetStreamManager, src: string, replicas: number): Promise<StreamInfo> {
  const name = streamName(src);
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    return await jsm.streams.add({
      name, subjects: [streamSubjects(src)], storage: 'file' as never, num_replicas: replicas,
      // Re-publishing after a short outage is deduplicated by Nats-Msg-Id within this window; longer
      // outages resume from the stream's last message instead (see bridge.ts).
      duplicate_window: 120_000_000_000,
    });
  } catch (err) {
    // Two tickerplants creating it at once (an HA pair starting): the other one won.
    if (String(err).includes('already in use')) return jsm.streams.info(name);
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  const s = String(err instanceof Error ? err.message : err);
  return /not found/i.test(s);
}

export { jetstreamManager };

/** The stream's last message: its sequence and the position its Nats-Msg-Id names (undefined if empty). */
export async function lastPosition(jsm: JetStreamManager, src: string): Promise<{ seq: number; pos: Position | undefined; data?: Uint8Array }> {
  const info = await jsm.streams.info(streamName(src));
  const seq = info.state.last_seq;
  if (info.state.messages === 0) return { seq, pos: undefined };
  const m = await messageAt(jsm, src, seq);
  return m ? { seq, pos: parseMsgId(m.header.get('Nats-Msg-Id')), data: m.data } : { seq, pos: undefined };
}

async function messageAt(jsm: JetStreamManager, src: string, seq: number): Promise<{ header: { get(k: string): string }; data: Uint8Array } | null> {
  return jsm.streams.getMessage(streamName(src), { seq }).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
}

/** The position of the message at `seq`; undefined if it was deleted or is not ours. */
export async function positionAt(jsm: JetStreamManager, src: string, seq: number): Promise<Position | undefined> {
  const m = await messageAt(jsm, src, seq);
  return m ? parseMsgId(m.header.get('Nats-Msg-Id')) : undefined;
}

/**
 * The first sequence whose message is at or after `want`, by binary search over the stream (Nats-Msg-Ids
 * increase with the sequence); last_seq + 1 when every message is before it. O(log n) requests.
 */
export async function seqAtOrAfter(jsm: JetStreamManager, src: string, want: Position): Promise<number> {
  const info = await jsm.streams.info(streamName(src));
  let lo = info.state.first_seq;
  let hi = info.state.last_seq + 1;
  if (info.state.messages === 0) return hi;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    let probe = mid;
    let pos: Position | undefined;
    // A deleted message (interior gap) has no position: look at the next one.
    while (probe < hi && (pos = await positionAt(jsm, src, probe)) === undefined) probe++;
    if (pos === undefined || compare(pos, want) >= 0) hi = mid; else lo = probe + 1;
  }
  return lo;
}

/** Bytes kept free under max_payload for a message's headers. */
const HEADROOM = 1024;

/**
 * The longest record one message can carry: the server's max_payload less room for headers, or NATS's
 * default (1 MB) until the connection has said.
 */
export function recordLimit(nc: { readonly info?: { readonly max_payload: number } | undefined } | undefined): number {
  return (nc?.info?.max_payload ?? 1 << 20) - HEADROOM;
}
