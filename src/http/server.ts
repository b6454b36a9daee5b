// The tickerplant's HTTP listener: the web page (web/), GET /healthz, GET /metrics, and the WebSocket
// JSON gateway at /ws (docs/websocket.md). node:http only; the page's files are read once at start.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { SubscriberRegistry } from '../tick/index.js';
import { offeredProtocols, refuseUpgrade, upgradeCredentials } from '../server/rfc6455.js';
import { WsGateway } from '../ws/gateway.js';
import { addressBlock, PeerCount } from '../address.js';
import { LogRate } from '../log-rate.js';
import { L402Routes } from './l402.js';
import { requestUrl } from './target.js';
import type { L402Limits } from './l402.js';
import type { GatewayOptions } from '../ws/gateway.js';

/** The gateway's options (paywall, devPay, allowedOrigins, limits, heartbeatMs, now) are passed to it as they are. */
export interface HttpOptions extends Pick<GatewayOptions, 'tp' | 'log' | 'paywall' | 'devPay' | 'allowedOrigins' | 'limits' | 'heartbeatMs' | 'now' | 'onSlowConsumer'> {
  readonly port: number;
  /** Interface to listen on. [all] */
  readonly host?: string | undefined;
  /** The subscriber registry WebSocket clients join (the paywall's lookup). [a registry of their own] */
  readonly registry?: SubscriberRegistry | undefined;
  /** The injected clock (WebSocket heartbeat). [the system clock] */
  readonly clock?: Clock | undefined;
  /** GET /metrics; absent: 404. */
  readonly metrics?: ((req: IncomingMessage, res: ServerResponse) => void | Promise<void>) | undefined;
  /**
   * `-u`'s users: with it, /metrics and the WebSocket upgrade require them (docs/websocket.md,
   * "Credentials"); /healthz and the page's files stay open. [anyone]
   */
  readonly authenticator?: { check(user: string, password: string): boolean } | undefined;
  /** The L402 macaroons' root key (needed with a paywall for /l402/*; docs: README "L402"). */
  readonly l402RootKey?: Buffer | undefined;
  /** --l402-public: under -u, the L402 routes sell to anyone who pays (free tables still need -u). [off] */
  readonly l402Public?: boolean | undefined;
  readonly l402Limits?: Partial<L402Limits> | undefined;
  readonly socketLimits?: Partial<HttpSocketLimits> | undefined;
}

/** What the listener takes before any request is read (the WebSocket and L402 caps come on top). */
export interface HttpSocketLimits {
  /** Sockets open at once; more are closed at accept. [maxSockets=4096] */
  readonly maxSockets: number;
  /** Sockets at once from one address (an IPv6 /64). [maxSocketsPerPeer=256] */
  readonly maxSocketsPerPeer: number;
  /** A request's headers must have arrived by then (slow senders hold no socket for long). [headersTimeoutMs=10000] */
  readonly headersTimeoutMs: number;
}

export const HTTP_SOCKET_LIMITS: HttpSocketLimits = { maxSockets: 4096, maxSocketsPerPeer: 256, headersTimeoutMs: 10_000 };

/** HTTP Basic credentials of a request, or for a WebSocket upgrade also an `auth.<base64url>` subprotocol. */
const requestCredentials = (req: IncomingMessage, allowProtocol: boolean): ReturnType<typeof upgradeCredentials> =>
  upgradeCredentials(req.headers.authorization, allowProtocol ? offeredProtocols(req) : []);

export interface HttpServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly gateway: WsGateway;
  /** /l402/stream and /l402/snapshot. */
  readonly l402: L402Routes;
  /** Sockets closed at accept: over maxSockets in total or maxSocketsPerPeer from one peer. */
  readonly refused: number;
  close(): Promise<void>;
}

/** web/ of the package: src/http and dist/http are both two levels below the package root. */
export const WEB_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

interface Asset { readonly body: Buffer; readonly type: string }

const ASSET_FILES: ReadonlyArray<readonly [string, string, string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/index.html', 'index.html', 'text/html; charset=utf-8'],
  ['/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/style.css', 'style.css', 'text/css; charset=utf-8'],
];

/** Only our own files run; the QR code arrives as an SVG data: URL; the socket goes to this origin. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [path, file, type] of ASSET_FILES) {
    try {
      assets.set(path, { body: readFileSync(join(root, file)), type });
    } catch (err) {
      throw new ConfigError(`web page file ${join(root, file)} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return assets;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}

/** Starts the HTTP listener with the page, /healthz, /metrics and the WebSocket gateway at /ws. */
export async function startHttp(o: HttpOptions): Promise<HttpServer> {
  const log = o.log.child({ mod: 'http' });
  const assets = loadAssets(WEB_ROOT);
  const registry = o.registry ?? new SubscriberRegistry();
  const clock = o.clock ?? systemClock();
  const gateway = new WsGateway({
    tp: o.tp, registry, clock, paywall: o.paywall, devPay: o.devPay, log: o.log.child({ mod: 'ws' }),
    allowedOrigins: o.allowedOrigins, limits: o.limits, heartbeatMs: o.heartbeatMs, now: o.now, onSlowConsumer: o.onSlowConsumer,
  });
  const l402 = new L402Routes({
    tp: o.tp, registry, clock, log: o.log.child({ mod: 'l402' }),
    paywall: o.paywall, rootKey: o.l402RootKey, authenticator: o.authenticator, public: o.l402Public,
    credentials: (req) => requestCredentials(req, false), limits: o.l402Limits, onSlowConsumer: o.onSlowConsumer,
  });
  /** Whether the request may pass: no users file, or credentials it accepts. */
  const authorized = (req: IncomingMessage, allowProtocol: boolean): boolean => {
    if (!o.authenticator) return true;
    const c = requestCredentials(req, allowProtocol);
    return c !== undefined && o.authenticator.check(c.user, c.password);
  };
  const denied = (req: IncomingMessage, path: string, allowProtocol: boolean): void => {
    // The user only (never the password); one line per refusal, as for IPC's 'access.
    log.warn({ path, who: requestCredentials(req, allowProtocol)?.user ?? null, remote: req.socket.remoteAddress ?? null }, 'http access denied');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = requestUrl(req)?.pathname;
    if (path === undefined) { plain(res, 400, 'bad request'); return; }
    if (l402.handles(path)) { await l402.handle(req, res, path); return; }
    const known = assets.has(path) || path === '/healthz' || path === '/metrics' || path === '/ws';
    if (!known || (path === '/metrics' && !o.metrics)) { plain(res, 404, 'not found'); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { plain(res, 405, 'method not allowed', { allow: 'GET, HEAD' }); return; }
    if (path === '/healthz') { plain(res, 200, 'ok'); return; }
    if (path === '/metrics' && o.metrics) {
      if (!authorized(req, false)) {
        denied(req, path, false);
        plain(res, 401, 'access', { 'www-authenticate': 'Basic realm="tickerplant", charset="UTF-8"' });
        return;
      }
      await o.metrics(req, res);
      return;
    }
    if (path === '/ws') {
      // The page asks here whether the socket needs credentials (a failed upgrade shows it no status).
      // No WWW-Authenticate: the browser's own dialog would not reach the WebSocket.
      if (!authorized(req, false)) { plain(res, 401, 'access'); return; }
      plain(res, 426, 'this is a WebSocket endpoint', { upgrade: 'websocket' });
      return;
    }
    const asset = assets.get(path) as Asset;
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };

  const limits = { ...HTTP_SOCKET_LIMITS, ...o.socketLimits };
  // Node checks headersTimeout every connectionsCheckingInterval: a tenth of it keeps the bound close.
  const server: Server = createServer({
    headersTimeout: limits.headersTimeoutMs, requestTimeout: 3 * limits.headersTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.round(limits.headersTimeoutMs / 10)),
  }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'http request failed');
      if (!res.headersSent) plain(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.maxConnections = limits.maxSockets; // Node closes the ones past it at accept, with 'drop'
  const perPeer = new PeerCount();
  // A connect flood is not a log flood: one line a period per scope, with how many were not written.
  const logRate = new LogRate(clock);
  let refused = 0;
  const refuse = (scope: 'total' | 'peer', peer: string, connections: number, max: number): void => {
    refused++;
    logRate.warn(log, `refused ${scope}`, { peer, connections, max, scope }, 'connection refused: too many connections');
  };
  server.on('drop', (data?: { remoteAddress?: string }) => {
    refuse('total', addressBlock(data?.remoteAddress ?? ''), server.maxConnections, limits.maxSockets);
  });
  server.on('connection', (socket) => {
    const peer = addressBlock(socket.remoteAddress ?? '');
    const held = perPeer.of(peer);
    if (held >= limits.maxSocketsPerPeer) {
      refuse('peer', peer, held, limits.maxSocketsPerPeer);
      socket.destroy();
      return;
    }
    perPeer.hold(peer, socket);
  });
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    socket.on('error', (err: Error) => log.debug({ err: err.message }, 'upgrade socket error'));
    const path = requestUrl(req)?.pathname;
    if (path === undefined) { refuseUpgrade(socket, 400, 'Bad Request', {}, 'bad request'); return; }
    if (path !== '/ws') { refuseUpgrade(socket, 404, 'Not Found', {}, 'not found'); return; }
    if (!authorized(req, true)) {
      denied(req, path, true);
      refuseUpgrade(socket, 401, 'Unauthorized', {}, 'access');
      return;
    }
    gateway.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (err, socket) => {
    log.debug({ err: err.message }, 'bad http request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolveListen(); });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, host: o.host ?? null, web: WEB_ROOT }, 'http listening');

  return {
    port,
    gateway,
    l402,
    get refused() { return refused; },
    close: () => new Promise<void>((resolveClose) => {
      gateway.close();
      l402.close();
      server.close(() => resolveClose());
      server.closeAllConnections();
    }),
  };
}
