// Real nats-server processes on loopback for the JetStream tests: random free ports, data in the test's
// own directory, every process killed in teardown; and what the test/nats files share: an in-process
// tickerplant, one-row trades, the stream read back.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect as tcpConnect } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { DestinationStream } from 'pino';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { parseCommandLine } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { nodeq } from './qclient.js';
import type { QClient } from './qclient.js';

export interface StreamMsg { readonly seq: number; readonly subject: string; readonly id: string; readonly data: Buffer }

export const NATS_SERVER = '/usr/sbin/nats-server';
export const haveNats = existsSync(NATS_SERVER);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = tcpConnect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export class NatsServer {
  private proc: ChildProcess | undefined;
  constructor(readonly port: number, private readonly args: string[]) {}
  get url(): string { return `nats://127.0.0.1:${this.port}`; }
  get running(): boolean { return this.proc !== undefined; }

  async start(): Promise<void> {
    const proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), ...this.args], { stdio: 'ignore' });
    this.proc = proc;
    proc.once('exit', () => { if (this.proc === proc) this.proc = undefined; });
    const end = Date.now() + 15_000;
    while (!(await portOpen(this.port))) {
      if (Date.now() > end) throw new Error(`nats-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a signal and goes on (SIGSTOP/SIGCONT: a server that hangs, then wakes). */
  signal(signal: NodeJS.Signals): void { this.proc?.kill(signal); }

  /** Stops the process (SIGKILL for a crash, SIGTERM for a clean stop) and waits until it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    await gone;
    this.proc = undefined;
  }
}

export interface NatsServerOptions {
  /** The server's max_payload (bytes; nats-server's default is 1 MB). */
  readonly maxPayload?: number;
  /** A port already used (a server restarted with other options on the same data). */
  readonly port?: number;
}

/** One JetStream server, data under the test's directory. */
export async function natsServer(t: Test, dir: string, o: NatsServerOptions = {}): Promise<NatsServer> {
  const store = join(dir, 'nats');
  mkdirSync(store, { recursive: true });
  const args = ['-js', '-sd', store];
  if (o.maxPayload !== undefined) {
    const conf = join(dir, `nats-${o.maxPayload}.conf`);
    writeFileSync(conf, `max_payload: ${o.maxPayload}\n`);
    args.push('-c', conf);
  }
  const s = new NatsServer(o.port ?? await freePort(), args);
  await s.start();
  t.teardown(() => s.stop());
  return s;
}

/** A three-node JetStream cluster on loopback. */
export async function natsCluster(t: Test, dir: string): Promise<NatsServer[]> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const routes = [await freePort(), await freePort(), await freePort()];
  const nodes = ports.map((port, i) => {
    const store = join(dir, `nats${i}`);
    mkdirSync(store, { recursive: true });
    const others = routes.filter((_, j) => j !== i).map((r) => `nats://127.0.0.1:${r}`).join(',');
    return new NatsServer(port, ['-js', '-sd', store, '-n', `n${i}`, '--cluster_name', 'tp',
      '--cluster', `nats://127.0.0.1:${routes[i]}`, '--routes', others]);
  });
  await Promise.all(nodes.map((n) => n.start()));
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
  return nodes;
}

/** A client connection for the test's own reads of the stream. */
export async function natsClient(t: Test, servers: string[]): Promise<NatsConnection> {
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100, waitOnFirstConnect: true });
  t.teardown(() => nc.close());
  return nc;
}

/**
 * Every message of a stream, in order, read with an ordered consumer of our own. Retried: right after a
 * cluster lost a node, JetStream API requests can time out while Raft elects new leaders.
 */
export async function streamMessages(nc: NatsConnection, stream: string): Promise<StreamMsg[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readAll(nc, stream);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function readAll(nc: NatsConnection, stream: string): Promise<StreamMsg[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: StreamMsg[] = [];
  if (info.state.messages === 0) return out;
  const c = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const it = await c.consume();
  for await (const m of it) {
    out.push({ seq: m.seq, subject: m.subject, id: m.headers?.get('Nats-Msg-Id') ?? '', data: Buffer.from(m.data) });
    if (m.seq >= info.state.last_seq) break;
  }
  await it.close();
  return out;
}

/** The stream's last sequence, 0 when it does not exist yet. */
export async function lastSeq(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return jsm.streams.info(stream).then((i) => i.state.last_seq, () => 0);
}

/** A tickerplant in this process, as `tickerplant ARGS -p 0` (real clock: NATS is a real process), closed in teardown. */
export async function natsApp(t: Test, args: string[], sink?: DestinationStream): Promise<App> {
  const { config } = parseCommandLine(['-p', '0', '--unix', '', ...args]);
  const log = sink ? createLogger('info', sink) : createLogger('silent');
  const app = await startApp(config, { log, clock: systemClock() });
  t.teardown(() => app.close());
  return app;
}

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
export const sym = (x: string): unknown => q['symbol']?.(x);

/** .u.upd's arguments for a one-row trade whose price and size are i (the size names the row). */
export function tradeArgs(i: number): unknown[] {
  return ['.u.upd', sym('trade'), [sym(`S${i % 5}`), q['float']?.(i), q['int']?.(i)]];
}

/** One async one-row trade, row i. */
export function trade(feed: QClient, i: number): void {
  feed.async(...tradeArgs(i));
}

/** The size column of the trade rows a q subscriber received, in order. */
export function sizes(sub: QClient): number[] {
  return sub.updates.flatMap((u) => (u.data as Array<Record<string, number>>).map((r) => r['size'] as number));
}
