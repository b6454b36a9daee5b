// Composition root: builds the logger-bound parts, the tickerplant, the q environment and the listeners,
// and stops them in order. The only place concrete parts are constructed.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { systemClock, unixMs } from './clock.js';
import type { Config } from './config.js';
import type { JournalIo } from './journal/index.js';
import { Dispatcher } from './dispatch.js';
import { LogRate } from './log-rate.js';
import type { Surface } from './q/index.js';
import { IpcServer, loadUsersFile } from './server/index.js';
import type { ListenAddress } from './server/index.js';
import { loadSchema, SubscriberRegistry, Tickerplant } from './tick/index.js';
import type { Subscriber } from './tick/index.js';
import { createPayments } from './payments/index.js';
import type { InvoiceBackend, Payments } from './payments/index.js';
import { createBackend } from './lightning/index.js';
import { createMetrics } from './metrics.js';
import type { Metrics } from './metrics.js';
import { startDemoFeed } from './demo-feed.js';
import { HTTP_SOCKET_LIMITS, startHttp } from './http/index.js';
import { loadRootKey } from './l402/root-key.js';
import type { HttpServer } from './http/index.js';
import type { DevPay } from './ws/gateway.js';
import { originAllowed } from './ws/gateway.js';
import { startChain } from './chain/index.js';
import { Q, QError } from './errors.js';
import { startNats } from './nats/index.js';
import type { NatsMode, NatsPart } from './nats/index.js';

export interface App {
  readonly tp: Tickerplant;
  readonly server: IpcServer;
  /** What the q surface reaches (the closed table of forms in q/surface.ts). */
  readonly surface: Surface;
  /** The IPC handler (its count of messages refused undecoded). */
  readonly dispatcher: Dispatcher;
  /** Every live subscriber by handle (IPC and WebSocket). */
  readonly registry: SubscriberRegistry;
  readonly addresses: ListenAddress[];
  /** The paywall and its backend; undefined when payments are off (every table free). */
  readonly payments: Payments | undefined;
  /** Prometheus metrics; undefined without --http-port. */
  readonly metrics: Metrics | undefined;
  /** The TCP port actually bound (useful with -p 0). */
  readonly port: number;
  /** The HTTP port (page, WebSocket, /metrics) actually bound; undefined without --http-port. */
  readonly httpPort: number | undefined;
  /** The JetStream part (--nats, --from-nats); undefined when off. */
  readonly nats: NatsPart | undefined;
  /** Stops; resolves to false when the journal's or the ledger's last records could not be written. */
  close(): Promise<boolean>;
}

export interface AppDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  /** The journal's system calls (tests fail them as a full disk does). [node:fs] */
  readonly journalIo?: JournalIo;
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** SRC as tick.q reads it: a .q path, or a name looked up as q/SRC.q here, then in the package. */
export function resolveSchemaPath(src: string): string {
  if (src.endsWith('.q') || src.includes('/')) return src;
  const local = join('q', `${src}.q`);
  if (existsSync(local)) return local;
  return join(packageRoot, 'q', `${src}.q`);
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The WebSocket gateway's `pay` (hex hash and preimage) when the backend can pay itself (the dev node). */
export function devPayFor(backend: InvoiceBackend | undefined): DevPay | undefined {
  const pay = backend?.pay?.bind(backend);
  return pay ? (request: string) => {
    const paid = pay(request);
    return { hash: paid.invoice.rHash.toString('hex'), preimage: paid.preimage.toString('hex') };
  } : undefined;
}

/** The q surface's .dev.pay when the backend can pay itself (the dev node); its failures as catalogue texts. */
export function qDevPayFor(backend: InvoiceBackend | undefined): Surface['devPay'] {
  const pay = backend?.pay?.bind(backend);
  return pay ? (request: string) => {
    let paid;
    try {
      paid = pay(request);
    } catch (err) {
      throw new QError(err instanceof Error && /already paid/.test(err.message) ? Q.alreadyPaid : Q.pay);
    }
    return { hash: paid.invoice.rHash, preimage: paid.preimage, amountSat: BigInt(paid.invoice.amountPaidSat) };
  } : undefined;
}

export async function startApp(config: Config, deps: AppDeps): Promise<App> {
  const { log } = deps;
  const clock = deps.clock ?? systemClock(config.utcOffsetHours);
  const schemaPath = resolveSchemaPath(config.src);
  // --chain (chainedtick.q): upstream first; its .u.sub[`;`] reply gives the tables instead of SRC.
  const chain = config.chain !== undefined
    ? await startChain(config.chain, { log, timers: clock, maxMessageBytes: config.maxMessageBytes }) : undefined;
  const schemas = chain ? [...chain.schemas] : loadSchema(schemaPath);
  // JetStream: a primary publishes its journal; an edge or an HA member follows the stream (days included).
  const natsMode: NatsMode | undefined = config.fromNats !== undefined ? 'edge'
    : config.nats !== undefined ? (config.ha ? 'ha' : 'primary') : undefined;
  let natsWake: (() => void) | undefined;
  let natsRecordLimit: (() => number) | undefined;
  let natsJournalFailed: (() => void) | undefined;
  const tp = new Tickerplant({
    schemas,
    src: config.src.replace(/^.*\//, '').replace(/\.q$/, ''),
    ...(config.dst !== undefined ? { logDir: config.dst } : {}),
    batchMs: config.batchMs,
    clock,
    log,
    fsync: config.fsync,
    truncateLog: config.truncateLog,
    ...(chain || natsMode === 'edge' || natsMode === 'ha' ? { followUpstream: true } : {}),
    ...(natsMode === 'edge' || natsMode === 'ha' ? { resumeNewestJournal: true } : {}),
    ...(natsMode === 'primary' ? { onJournal: () => natsWake?.(), maxRecordBytes: () => natsRecordLimit?.() ?? Infinity } : {}),
    ...(natsMode === 'edge' || natsMode === 'ha' ? { onJournalFault: () => natsJournalFailed?.() } : {}),
    ...(deps.journalIo ? { journalIo: deps.journalIo } : {}),
  });
  const nats = natsMode === undefined ? undefined : startNats(natsMode, {
    servers: (config.fromNats ?? config.nats) as string, credsFile: config.natsCreds, replicas: config.natsReplicas,
    failoverMs: config.failoverMs, src: config.src.replace(/^.*\//, '').replace(/\.q$/, ''), dir: config.dst,
    tp, clock, log,
  });
  natsWake = nats?.wake;
  natsRecordLimit = nats?.maxRecordBytes;
  natsJournalFailed = nats?.journalFailed;
  let metrics: Metrics | undefined;
  let http: HttpServer | undefined;
  let server: IpcServer | undefined;
  let demo: { stop(): void } | undefined;
  let payments: Payments | undefined;
  /** Stops whatever has started, in the one order (also when a start fails half way). */
  /** Stops every part; false when something was lost on the way out (the journal's or the ledger's last writes). */
  const stop = async (): Promise<boolean> => {
    chain?.close();
    await nats?.close();
    demo?.stop();
    // Publish what batch mode holds while subscribers are still connected, then let the sockets drain.
    const journaled = tp.close();
    await http?.close();
    await server?.close();
    const lost = await payments?.close() ?? 0;
    metrics?.close();
    return journaled && lost === 0;
  };
  // IPC connections and WebSocket clients alike: the one place a handle is turned into its subscriber.
  const registry = new SubscriberRegistry();
  try {
    const stateDir = config.dst ?? config.dataDir;
    const backend = createBackend({
      lightning: config.lightning, dataDir: config.dataDir, stateDir, devAutopayMs: config.devAutopayMs,
      lnd: config.lnd, lndTlsCert: config.lndTlsCert, lndMacaroon: config.lndMacaroon,
      now: () => unixMs(clock), timers: clock, log,
    });
    payments = backend && createPayments({
      backend, tp, clock, log, lookup: (h) => registry.get(h), stateDir,
      priceSat: config.priceSat, pricingFile: config.pricingFile,
      invoiceExpirySeconds: config.invoiceExpirySeconds, entitlementMs: config.entitlementMs,
      maxPendingPerConn: config.maxPendingPerConn, maxPendingInvoices: config.maxPendingInvoices,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const paywall = payments?.paywall;
  const subscriberFor = (ctx: { handle: number }): Subscriber => {
    const s = registry.get(ctx.handle);
    if (!s) throw new QError(Q.handle);
    return s;
  };
  chain?.follow(tp);
  const surface: Surface = {
    tp, subscriberFor, maxReplyBytes: config.maxReplyBytes, paywall, devPay: qDevPayFor(payments?.backend),
    peerOf: (h: number) => server?.get(h)?.peer,
    ...(chain ? { forward: (query: string) => chain.forward(query) } : {}),
  };
  // -u applies to every interface: IPC, the WebSocket gateway, /metrics and the L402 routes (--l402-public).
  const users = config.usersFile ? loadUsersFile(config.usersFile) : undefined;
  const natsUpd = nats?.upd;
  const natsRoom = nats?.room;
  const dispatcher = new Dispatcher(tp, registry, surface, log, {
    ...(paywall ? { onClose: (h: number) => paywall.disconnect(h) } : {}),
    onConnectionClose: (c, reason) => metrics?.connectionClosed(c, reason),
    ...(natsUpd ? { upd: natsUpd } : {}),
    ...(natsRoom ? { room: natsRoom } : {}),
    logRate: new LogRate(clock),
  });
  const ipc = new IpcServer({
    handler: dispatcher,
    log: log.child({ mod: 'ipc' }),
    ...(users ? { authenticator: users } : {}),
    limits: {
      maxMessageBytes: config.maxMessageBytes,
      maxQueuedBytes: config.maxQueuedBytes,
      maxDepth: config.maxDepth,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      maxInboundBytes: config.maxInboundBytes,
      readTimeoutMs: config.readTimeoutMs,
      maxConnections: config.maxConnections,
      maxConnectionsPerPeer: config.maxConnectionsPerPeer,
    },
    clock,
    // kdb+ over WebSocket on -p: browsers' pages from other sites are held to the gateway's origin rule.
    acceptOrigin: (origin, host) => originAllowed(origin, host, config.allowedOrigins),
  });

  server = ipc;
  const addresses: ListenAddress[] = [];
  try {
    await payments?.start({ background: true });
    addresses.push(await ipc.listenTcp(config.port, config.host));
    if (config.unixSocket) {
      const path = config.unixSocket.replace('PORT', String(addresses[0]?.port ?? config.port));
      addresses.push(await ipc.listenUnix(path));
      // q on Linux (3.5+) connects `:unix://PORT through the abstract namespace; node-q uses the file.
      if (process.platform === 'linux') addresses.push(await ipc.listenUnix('\0' + path));
    }
    if (config.tlsPort !== undefined) {
      // parseCommandLine refuses --tls-port without both files (a command-line mistake, exit 2).
      addresses.push(await ipc.listenTls(config.tlsPort, readFileSync(config.tlsCert ?? ''), readFileSync(config.tlsKey ?? ''), config.host));
    }
    if (config.httpPort !== undefined) {
      metrics = createMetrics({ tp, server: ipc, dispatch: dispatcher, http: () => http, payments, nats, log: log.child({ mod: 'metrics' }) });
      http = await startHttp({
        port: config.httpPort, host: config.host, tp, registry, clock, paywall, log, // startHttp names its parts (mod http, ws): one mod per line
        now: () => unixMs(clock),
        devPay: devPayFor(payments?.backend),
        metrics: metrics.handler,
        authenticator: users,
        allowedOrigins: config.allowedOrigins,
        // L402: macaroons signed with a root key kept (0600) in the data directory.
        l402RootKey: payments ? loadRootKey(config.dataDir) : undefined,
        l402Public: config.l402Public,
        onSlowConsumer: () => metrics?.slowConsumerDropped(),
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  warnIfFewDescriptors(config, http !== undefined, log);
  tp.start();
  demo = config.demoFeed ? startDemoFeed({ tp, clock, log: log.child({ mod: 'demo-feed' }) }) : undefined;
  log.info({ ...(chain ? { upstream: chain.upstream } : { schema: schemaPath }), tables: tp.names, mode: tp.batch ? `batch ${config.batchMs}ms` : 'zero-latency',
    journal: tp.logFile ?? null, listen: addresses.map((a) => a.port ?? a.address), http: http?.port ?? null }, 'tickerplant started');
  return {
    tp, server: ipc, surface, dispatcher, registry, addresses, payments, metrics,
    port: addresses[0]?.port ?? config.port,
    httpPort: http?.port,
    nats,
    async close() {
      const clean = await stop();
      if (clean) log.info({}, 'tickerplant stopped');
      else log.error({}, 'tickerplant stopped; records were lost on the way out (see the lines above)');
      return clean;
    },
  };
}

/** Descriptors kept for what is not a client socket: journal, ledger, book, listeners, lnd, NATS. */
const RESERVED_FDS = 64;

/**
 * Past the open-file limit a client's connect waits in the kernel's backlog with no line anywhere: the
 * limits configured should fit under it (Linux: /proc/self/limits; elsewhere not checked).
 */
function warnIfFewDescriptors(config: Config, withHttp: boolean, log: Logger): void {
  let soft: number | undefined;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    soft = m ? Number(m[1]) : undefined;
  } catch {
    return;
  }
  const wanted = config.maxConnections + (withHttp ? HTTP_SOCKET_LIMITS.maxSockets : 0) + RESERVED_FDS;
  if (soft !== undefined && wanted > soft) {
    log.warn({ openFileLimit: soft, maxConnections: config.maxConnections, httpSockets: withHttp ? HTTP_SOCKET_LIMITS.maxSockets : 0 },
      'connection limits exceed the open-file limit: raise ulimit -n or lower --max-connections');
  }
}
