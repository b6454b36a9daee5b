// Command line → Config, shaped like `q tick.q SRC DST -p 5010 -t 1000 -o 0` plus long options for the
// rest. Every option has a documented default; `--help` prints them from this table.
import { parseArgs } from 'node:util';
import { parseUpstreamAddress } from './chain/address.js';
import { ConfigError } from './errors.js';

export interface Config {
  /** Schema name (q/SRC.q) or a path to a .q file. */
  readonly src: string;
  /** Journal directory; undefined: no journal. */
  readonly dst: string | undefined;
  readonly port: number;
  readonly host: string | undefined;
  /** Unix socket path (q's `:unix://PORT is /tmp/kx.PORT); '' disables. */
  readonly unixSocket: string;
  readonly batchMs: number;
  readonly utcOffsetHours: number | undefined;
  readonly tlsPort: number | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly usersFile: string | undefined;
  readonly maxMessageBytes: number;
  readonly maxQueuedBytes: number;
  /** Largest reply built for a client (.u.w, .u.pendingInvoices): past it, 'limit and nothing is built. */
  readonly maxReplyBytes: number;
  readonly maxDepth: number;
  readonly handshakeTimeoutMs: number;
  readonly maxInboundBytes: number;
  readonly readTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerPeer: number;
  readonly fsync: 'none' | 'batch' | 'record';
  readonly truncateLog: boolean;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  readonly dataDir: string;
  readonly lightning: 'none' | 'dev' | 'lnd';
  readonly lnd: string | undefined;
  readonly lndTlsCert: string | undefined;
  readonly lndMacaroon: string | undefined;
  readonly priceSat: number;
  readonly pricingFile: string | undefined;
  readonly entitlementMs: number | undefined;
  readonly invoiceExpirySeconds: number;
  readonly devAutopayMs: number | undefined;
  /** Unpaid invoices one connection may hold at once. */
  readonly maxPendingPerConn: number;
  /** Unpaid invoices in total. */
  readonly maxPendingInvoices: number;
  readonly httpPort: number | undefined;
  /** --allowed-origins: browser origins (scheme://host[:port]) that may open the WebSocket besides the
   * page's own; ['*'] = any; undefined = the page's own and localhost. */
  readonly allowedOrigins: readonly string[] | undefined;
  /** --l402-public: under -u, the L402 routes sell to anyone who pays (README "L402"). */
  readonly l402Public: boolean;
  readonly demoFeed: boolean;
  /** --chain [host]:port[:user:password]: a chained TP (chainedtick.q) of that upstream; undefined: off. */
  readonly chain: string | undefined;
  /** --nats URL[,URL…]: JetStream bridge (primary) or, with --ha, a hot-standby pair; undefined: off. */
  readonly nats: string | undefined;
  readonly natsCreds: string | undefined;
  readonly natsReplicas: number;
  /** --from-nats URL[,URL…]: an edge tickerplant following the stream TICK_<SRC>. */
  readonly fromNats: string | undefined;
  readonly ha: boolean;
  /** --failover: how long a hot standby waits for a silent leader before taking over. */
  readonly failoverMs: number;
}

interface OptionSpec {
  readonly short?: string;
  readonly type: 'string' | 'boolean';
  readonly help: string;
  readonly def: string;
  readonly env?: string;
}

/** Every option, its default and its environment variable. */
export const OPTIONS: Record<string, OptionSpec> = {
  port: { short: 'p', type: 'string', help: 'TCP port for q clients', def: '5010', env: 'TP_PORT' },
  timer: { short: 't', type: 'string', help: 'batch publish interval in ms; 0 = zero-latency mode', def: '0' },
  'utc-offset': { short: 'o', type: 'string', help: 'offset from UTC for local time (q -o): hours, or minutes when |N| > 23', def: 'system zone' },
  host: { type: 'string', help: 'interface to listen on', def: 'all' },
  unix: { type: 'string', help: "unix socket path ('' to disable)", def: '/tmp/kx.PORT' },
  'tls-port': { type: 'string', help: 'also accept TLS on this port', def: 'off' },
  'tls-cert': { type: 'string', help: 'PEM certificate for --tls-port', def: '' },
  'tls-key': { type: 'string', help: 'PEM private key for --tls-port', def: '' },
  users: { short: 'u', type: 'string', help: 'user:password file, as q -u', def: 'anyone may connect' },
  'max-message-bytes': { type: 'string', help: 'largest message accepted', def: String(256 * 1024 * 1024) },
  'max-queued-bytes': { type: 'string', help: 'outbound bytes queued per client before it is dropped', def: String(64 * 1024 * 1024) },
  'max-reply-bytes': { type: 'string', help: "largest reply to a query (.u.w, .u.pendingInvoices); past it 'limit", def: String(64 * 1024 * 1024) },
  'max-depth': { type: 'string', help: 'deepest nesting accepted in a message', def: '64' },
  'handshake-timeout': { type: 'string', help: 'ms allowed for the handshake', def: '5000' },
  'max-inbound-bytes': { type: 'string', help: 'bytes held for partly received messages, all connections together; past it the largest holder is dropped', def: String(512 * 1024 * 1024) },
  'read-timeout': { type: 'string', help: 'ms in which a started message must gain 64 KiB (or its rest), else the client is dropped', def: '30000' },
  'max-connections': { type: 'string', help: 'q connections at once (handshaking included); more are closed at accept', def: '4096' },
  'max-connections-per-peer': { type: 'string', help: 'q connections at once from one IPv4 address or IPv6 /64 (unix socket exempt)', def: '2048' },
  fsync: { type: 'string', help: 'journal fsync: none | batch | record', def: 'none' },
  'truncate-log': { type: 'boolean', help: 'truncate a corrupt journal tail instead of refusing to start', def: 'false' },
  'log-level': { type: 'string', help: 'trace | debug | info | warn | error | fatal | silent', def: 'info', env: 'TP_LOG_LEVEL' },
  'data-dir': { type: 'string', help: 'dev node key, ledger and lnd cursor when there is no DST', def: './data', env: 'TP_DATA_DIR' },
  lightning: { type: 'string', help: "payment backend: 'dev' (built in) or 'none'", def: 'none' },
  lnd: { type: 'string', help: 'lnd gRPC host:port (turns payments on)', def: '', env: 'LND_GRPC_HOST' },
  'lnd-tlscert': { type: 'string', help: "path to lnd's tls.cert", def: '~/.lnd/tls.cert', env: 'LND_TLS_CERT' },
  'lnd-macaroon': { type: 'string', help: 'path to invoice.macaroon', def: '~/.lnd/data/chain/bitcoin/mainnet/invoice.macaroon', env: 'LND_MACAROON' },
  price: { type: 'string', help: 'sats per sym for priced tables', def: '100' },
  pricing: { type: 'string', help: 'pricing file (JSON)', def: '' },
  entitlement: { type: 'string', help: 'pay-per-period length, e.g. 1h or 30m', def: 'until disconnect' },
  'invoice-expiry': { type: 'string', help: 'invoice expiry in seconds', def: '3600' },
  'max-pending-per-conn': { type: 'string', help: "unpaid invoices one connection may hold; the next priced .u.sub gets 'pending", def: '16' },
  'max-pending-invoices': { type: 'string', help: "unpaid invoices in total; beyond it priced .u.sub gets 'pending", def: '10000' },
  'dev-autopay': { type: 'string', help: 'dev backend: settle every invoice after this many ms', def: 'off' },
  'http-port': { type: 'string', help: 'HTTP port for the web page, WebSocket gateway, /metrics and the L402 routes', def: 'off' },
  'l402-public': { type: 'boolean', help: 'with -u: serve /l402/* to anyone who pays (a paid token is the credential); without it they are refused under -u', def: 'false' },
  'allowed-origins': { type: 'string', help: "comma-separated browser origins allowed on the WebSocket besides the page's own, '*' = any", def: 'the page and localhost' },
  'demo-feed': { type: 'boolean', help: 'publish simulated trades and quotes', def: 'false' },
  chain: { type: 'string', help: 'chained TP (chainedtick.q): subscribe to the upstream TP [host]:port[:user:password] and republish; its tables, no journal, no SRC/DST; upstream must not charge it', def: 'off' },
  nats: { type: 'string', help: 'NATS URL[,URL...]: publish the journal to the JetStream stream TICK_<SRC> (needs DST)', def: 'off', env: 'TP_NATS' },
  'nats-creds': { type: 'string', help: 'NATS credentials (.creds) file', def: 'none' },
  'nats-replicas': { type: 'string', help: 'replicas of the stream when this tickerplant creates it (1, 3 or 5)', def: '1' },
  'from-nats': { type: 'string', help: 'edge: follow the stream TICK_<SRC> at NATS URL[,URL...]; positionals [[SRC] DST]', def: 'off' },
  ha: { type: 'boolean', help: 'hot-standby pair with --nats: one leader takes feeds, the other follows the stream', def: 'false' },
  failover: { type: 'string', help: 'with --ha: a silent leader is replaced within this time', def: '5s' },
  help: { short: 'h', type: 'boolean', help: 'show this help', def: '' },
  version: { short: 'V', type: 'boolean', help: 'print the version', def: '' },
};

// Digits only: Number() would read '' and '  ' as 0 (an unset $PRICE making every table free, `-p ''` a
// random port) and take 0x64 or 1e3.
const int = (name: string, v: string, min = 0): number => {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
};

/** --allowed-origins: '*' or a comma list of origins as browsers send them (scheme://host[:port], no path). */
function origins(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((o) => o.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError(`--allowed-origins needs '*' or origins such as https://example.com`);
  for (const o of list) {
    if (o === '*') continue;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new ConfigError(`--allowed-origins: '${o}' is not an origin such as https://example.com`);
    }
    if (url.origin === 'null' || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') throw new ConfigError(`--allowed-origins: '${o}' is not an origin (scheme://host[:port], no path)`);
  }
  return list.map((o) => (o === '*' ? o : new URL(o).origin));
}

/** A TCP port: 0 (any free port) to 65535. */
const portNumber = (name: string, v: string): number => {
  const n = int(name, v);
  if (n > 65535) throw new ConfigError(`--${name} must be a port from 0 to 65535, got '${v}'`);
  return n;
};

/** `1h`, `30m`, `45s`, `500ms` or plain ms. */
export function parseDuration(name: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new ConfigError(`--${name}: cannot read '${v}' as a duration (e.g. 1h, 30m, 45s)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/** A duration of more than nothing (a period of 0 would sell access that has ended when it is paid). */
function positiveDuration(name: string, v: string): number {
  const ms = parseDuration(name, v);
  if (ms <= 0) throw new ConfigError(`--${name} must be longer than 0, got '${v}'`);
  return ms;
}

export interface ParsedArgs {
  readonly command: 'run' | 'replay' | 'pay' | 'help' | 'version';
  readonly config: Config;
  readonly positionals: string[];
  readonly values: Record<string, string | boolean | undefined>;
}

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = {}): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(OPTIONS)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  // Subcommands keep their own extra options (replay --to, --count-only).
  options['to'] = { type: 'string' };
  options['count-only'] = { type: 'boolean' };
  options['limit'] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const pos = parsed.positionals;
  const get = (name: string): string | undefined => {
    const x = v[name];
    if (typeof x === 'string') return x;
    const e = OPTIONS[name]?.env;
    // An empty variable (`TP_PORT=`) counts as unset, as in a shell's ${VAR:-default}.
    const fromEnv = e !== undefined ? env[e] : undefined;
    return fromEnv === '' ? undefined : fromEnv;
  };
  let command: ParsedArgs['command'] = 'run';
  if (v['help']) command = 'help';
  else if (v['version']) command = 'version';
  else if (pos[0] === 'replay' || pos[0] === 'pay') command = pos.shift() as 'replay' | 'pay';
  const fsync = get('fsync') ?? 'none';
  if (fsync !== 'none' && fsync !== 'batch' && fsync !== 'record') throw new ConfigError(`--fsync must be none, batch or record`);
  const logLevel = (get('log-level') ?? 'info') as Config['logLevel'];
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new ConfigError(`--log-level: unknown level '${logLevel}'`);
  }
  const lnd = get('lnd') || undefined;
  const lightningOpt = get('lightning');
  if (lightningOpt !== undefined && lightningOpt !== 'dev' && lightningOpt !== 'none') {
    throw new ConfigError(`--lightning must be 'dev' or 'none' (use --lnd host:port for a real node)`);
  }
  if (lnd && lightningOpt === 'dev') throw new ConfigError('choose one of --lightning dev and --lnd');
  const offset = get('utc-offset');
  const home = env['HOME'] ?? '';
  const expand = (p: string | undefined): string | undefined => (p && p.startsWith('~/') ? home + p.slice(1) : p);
  const fromNats = get('from-nats') || undefined;
  // An edge's positionals are [[SRC] DST]: `tickerplant --from-nats URL DST` names only the journal.
  const edgeArgs = fromNats !== undefined && command === 'run' && pos.length === 1 ? ['sym', pos[0] as string] : pos;
  const config: Config = {
    src: command === 'run' ? edgeArgs[0] ?? 'sym' : 'sym',
    dst: command === 'run' ? edgeArgs[1] : undefined,
    port: portNumber('port', get('port') ?? '5010'),
    host: get('host'),
    unixSocket: get('unix') ?? '/tmp/kx.PORT',
    batchMs: int('timer', get('timer') ?? '0'),
    utcOffsetHours: offset === undefined ? undefined : Number(offset),
    tlsPort: get('tls-port') === undefined ? undefined : portNumber('tls-port', get('tls-port') as string),
    tlsCert: get('tls-cert'),
    tlsKey: get('tls-key'),
    usersFile: get('users'),
    maxMessageBytes: int('max-message-bytes', get('max-message-bytes') ?? String(256 * 1024 * 1024), 16),
    maxQueuedBytes: int('max-queued-bytes', get('max-queued-bytes') ?? String(64 * 1024 * 1024), 1024),
    maxReplyBytes: int('max-reply-bytes', get('max-reply-bytes') ?? String(64 * 1024 * 1024), 1024),
    maxDepth: int('max-depth', get('max-depth') ?? '64', 2),
    handshakeTimeoutMs: int('handshake-timeout', get('handshake-timeout') ?? '5000', 1),
    maxInboundBytes: int('max-inbound-bytes', get('max-inbound-bytes') ?? String(512 * 1024 * 1024), 1024),
    readTimeoutMs: int('read-timeout', get('read-timeout') ?? '30000', 1),
    maxConnections: int('max-connections', get('max-connections') ?? '4096', 1),
    maxConnectionsPerPeer: int('max-connections-per-peer', get('max-connections-per-peer') ?? '2048', 1),
    fsync,
    truncateLog: v['truncate-log'] === true,
    logLevel,
    dataDir: get('data-dir') ?? './data',
    lightning: lnd ? 'lnd' : lightningOpt === 'dev' ? 'dev' : 'none',
    lnd,
    lndTlsCert: expand(get('lnd-tlscert') ?? (lnd ? '~/.lnd/tls.cert' : undefined)),
    lndMacaroon: expand(get('lnd-macaroon') ?? (lnd ? '~/.lnd/data/chain/bitcoin/mainnet/invoice.macaroon' : undefined)),
    priceSat: int('price', get('price') ?? '100'),
    pricingFile: get('pricing') || undefined,
    entitlementMs: get('entitlement') === undefined ? undefined : positiveDuration('entitlement', get('entitlement') as string),
    invoiceExpirySeconds: int('invoice-expiry', get('invoice-expiry') ?? '3600', 1),
    maxPendingPerConn: int('max-pending-per-conn', get('max-pending-per-conn') ?? '16', 1),
    maxPendingInvoices: int('max-pending-invoices', get('max-pending-invoices') ?? '10000', 1),
    devAutopayMs: get('dev-autopay') === undefined ? undefined : int('dev-autopay', get('dev-autopay') as string),
    httpPort: get('http-port') === undefined ? undefined : portNumber('http-port', get('http-port') as string),
    allowedOrigins: origins(get('allowed-origins')),
    l402Public: v['l402-public'] === true,
    demoFeed: v['demo-feed'] === true,
    chain: get('chain') || undefined,
    nats: get('nats') || undefined,
    natsCreds: get('nats-creds') || undefined,
    natsReplicas: int('nats-replicas', get('nats-replicas') ?? '1', 1),
    fromNats,
    ha: v['ha'] === true,
    failoverMs: parseDuration('failover', get('failover') ?? '5s'),
  };
  if (command === 'run') checkNats(config);
  if (config.chain !== undefined && command === 'run') {
    parseUpstreamAddress(config.chain); // a bad address is a command-line error (exit 2)
    if (pos.length > 0) throw new ConfigError('--chain takes its tables from the upstream tickerplant and keeps no journal: drop SRC/DST');
  }
  if (offset !== undefined && !/^[+-]?\d+$/.test(offset)) throw new ConfigError(`-o must be a whole number of hours (or minutes when |N| > 23), got '${offset}'`);
  checkCombinations(command, pos, v, config);
  if (config.tlsPort !== undefined && (!config.tlsCert || !config.tlsKey)) throw new ConfigError('--tls-port needs --tls-cert and --tls-key');
  return { command, config, positionals: pos, values: v };
}

/** What each subcommand takes besides the global options, and how many positionals. */
const SUBCOMMAND: Record<'run' | 'replay' | 'pay', { readonly options: readonly string[]; readonly positionals: number; readonly usage: string }> = {
  run: { options: [], positionals: 2, usage: 'tickerplant [SRC [DST]] [options]' },
  replay: { options: ['to', 'limit', 'count-only'], positionals: 1, usage: 'tickerplant replay LOG [--to host:port [--limit n]] [--count-only]' },
  pay: { options: [], positionals: 1, usage: 'tickerplant pay PAYMENT_REQUEST [-p port]' },
};

/**
 * Options that would be ignored are mistakes (exit 2), not silence: a subcommand's option elsewhere, a
 * positional too many, an option whose part is off (--pricing without a payment backend would leave every
 * table free).
 */
function checkCombinations(command: ParsedArgs['command'], pos: readonly string[], v: Record<string, unknown>, c: Config): void {
  if (command === 'help' || command === 'version') return;
  const sub = SUBCOMMAND[command];
  for (const name of ['to', 'limit', 'count-only']) {
    if (v[name] !== undefined && !sub.options.includes(name)) throw new ConfigError(`--${name} is an option of tickerplant replay`);
  }
  if (pos.length > sub.positionals) throw new ConfigError(`unexpected argument '${pos[sub.positionals] as string}' (usage: ${sub.usage})`);
  if (command === 'replay' && v['limit'] !== undefined && v['to'] === undefined) throw new ConfigError('--limit needs --to');
  if (command !== 'run') return;
  const given = (name: string): boolean => v[name] !== undefined;
  const needs: Array<[string, boolean, string]> = [
    ['price', c.lightning !== 'none', 'a payment backend (--lnd or --lightning dev); without one every table is free'],
    ['pricing', c.lightning !== 'none', 'a payment backend (--lnd or --lightning dev); without one every table is free'],
    ['dev-autopay', c.lightning === 'dev', '--lightning dev'],
    ['tls-cert', c.tlsPort !== undefined, '--tls-port'],
    ['tls-key', c.tlsPort !== undefined, '--tls-port'],
    ['nats-creds', c.nats !== undefined || c.fromNats !== undefined, '--nats or --from-nats'],
    ['nats-replicas', c.nats !== undefined, '--nats'],
    ['failover', c.ha, '--ha'],
  ];
  for (const [name, ok, what] of needs) if (given(name) && !ok) throw new ConfigError(`--${name} needs ${what}`);
}

function checkNats(c: Config): void {
  if (c.fromNats !== undefined && (c.nats !== undefined || c.chain !== undefined || c.ha)) {
    throw new ConfigError('--from-nats is an edge: it takes no --nats, --chain or --ha');
  }
  if (c.ha && c.nats === undefined) throw new ConfigError('--ha needs --nats URL');
  if (c.nats !== undefined && c.chain !== undefined) throw new ConfigError('choose one of --nats and --chain');
  if (c.nats !== undefined && !c.ha && c.dst === undefined) {
    throw new ConfigError('--nats publishes the journal: give DST (tickerplant SRC DST --nats URL)');
  }
  if (c.failoverMs < 1000) throw new ConfigError('--failover must be at least 1s');
  if (![1, 3, 5].includes(c.natsReplicas)) throw new ConfigError(`--nats-replicas must be 1, 3 or 5, got ${c.natsReplicas}`);
  for (const [flag, urls] of [['nats', c.nats], ['from-nats', c.fromNats]] as const) {
    if (urls === undefined) continue;
    const list = urls.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0) throw new ConfigError(`--${flag} needs at least one URL`);
    for (const u of list) if (!natsUrl(u)) throw new ConfigError(`--${flag}: cannot read '${u}' as a NATS URL (nats://host:port or host:port)`);
  }
}

/**
 * Whether `s` is a server address the Node NATS client takes: [nats|tls://]host[:port], host a name, an
 * IPv4 address or an IPv6 one (bare or in brackets). Not ws/wss (that client has no WebSocket), nor
 * user:pass@ (it ignores URL credentials: they go in --nats-creds).
 */
function natsUrl(s: string): boolean {
  const bareIpv6 = !s.includes('://') && !s.includes('[') && (s.match(/:/g)?.length ?? 0) > 1;
  try {
    const u = new URL(bareIpv6 ? `nats://[${s}]` : /^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`);
    return ['nats:', 'tls:'].includes(u.protocol) && u.hostname !== '' && u.username === '' && u.password === '' &&
      (u.pathname === '' || u.pathname === '/');
  } catch {
    return false;
  }
}

export function helpText(version: string): string {
  const lines = [
    `tickerplant ${version}: a kdb+-compatible tickerplant (drop-in kdb-tick) with Lightning pay-per-ticker`,
    '',
    'usage: tickerplant [SRC] [DST] [-p port] [-t ms] [-o hours] [options]',
    '       tickerplant --chain [host]:port [-p port] [-t ms] [options]',
    '       tickerplant SRC DST --nats URL[,URL] [--ha] [options]',
    '       tickerplant --from-nats URL[,URL] [[SRC] DST] [-p port] [-t ms] [options]',
    '       tickerplant replay LOG [--to host:port [--limit n]] [--count-only]',
    '       tickerplant pay PAYMENT_REQUEST [-p port]',
    '',
    '  SRC  schema name, read from q/SRC.q, or a path to a .q file  (default: sym)',
    '  DST  journal directory; absent: no journal                  (default: none)',
    '',
    'options:',
  ];
  for (const [name, s] of Object.entries(OPTIONS)) {
    const flag = (s.short ? `-${s.short}, ` : '    ') + `--${name}` + (s.type === 'string' ? ' <v>' : '');
    const def = s.def ? ` (default: ${s.def})` : '';
    const env = s.env ? ` [env ${s.env}]` : '';
    lines.push(`  ${flag.padEnd(28)} ${s.help}${def}${env}`);
  }
  lines.push('', 'exit codes: 0 ok, 1 runtime failure (e.g. corrupt journal), 2 bad command line');
  return lines.join('\n');
}
