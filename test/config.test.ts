// The command line → Config (src/config.ts): defaults, the mistakes refused as ConfigError (the CLI's exit 2),
// and --allowed-origins end to end through app.ts.
import t from 'tap';
import { ConfigError } from '../src/errors.js';
import { OPTIONS, helpText, parseCommandLine } from '../src/config.js';
import { startTp } from './helpers/tp.js';
import { upgradeStatus } from './ws/fixture.js';

const refusal = (args: string[]): string => {
  try {
    parseCommandLine(args);
    return 'accepted';
  } catch (err) {
    return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
  }
};

t.test('--max-reply-bytes defaults to 64 MiB and is documented in --help', async (t) => {
  t.equal(parseCommandLine([]).config.maxReplyBytes, 64 * 1024 * 1024);
  t.equal(parseCommandLine(['--max-reply-bytes', '1048576']).config.maxReplyBytes, 1048576);
  t.equal(OPTIONS['max-reply-bytes']?.def, String(64 * 1024 * 1024));
  t.match(helpText('0'), /--max-reply-bytes <v>.*\(default: 67108864\)/);
  t.equal(refusal(['--max-reply-bytes', '10']), "--max-reply-bytes must be an integer >= 1024, got '10'");
});

t.test('ports outside 0..65535 are refused for -p, --tls-port and --http-port', async (t) => {
  t.equal(refusal(['-p', '99999']), "--port must be a port from 0 to 65535, got '99999'");
  t.equal(refusal(['--port=-1']), "--port must be an integer >= 0, got '-1'");
  t.equal(refusal(['--http-port', '70000']), "--http-port must be a port from 0 to 65535, got '70000'");
  t.equal(refusal(['--tls-port', '65536', '--tls-cert', 'c', '--tls-key', 'k']), "--tls-port must be a port from 0 to 65535, got '65536'");
  t.equal(parseCommandLine(['-p', '65535']).config.port, 65535);
  t.equal(parseCommandLine(['-p', '0']).config.port, 0);
});

t.test('--tls-port needs both --tls-cert and --tls-key', async (t) => {
  t.equal(refusal(['--tls-port', '5011']), '--tls-port needs --tls-cert and --tls-key');
  t.equal(refusal(['--tls-port', '5011', '--tls-cert', 'c.pem']), '--tls-port needs --tls-cert and --tls-key');
  t.equal(refusal(['--tls-port', '5011', '--tls-key', 'k.pem']), '--tls-port needs --tls-cert and --tls-key');
  t.equal(parseCommandLine(['--tls-port', '5011', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']).config.tlsPort, 5011);
});

t.test('an unknown option is a ConfigError, not a crash', async (t) => {
  t.match(refusal(['--no-such-option']), /no-such-option/);
});

t.test('--allowed-origins takes * or a comma list of origins and refuses paths and non-URLs', async (t) => {
  t.equal(parseCommandLine([]).config.allowedOrigins, undefined, 'absent: the page and localhost');
  t.same(parseCommandLine(['--allowed-origins', '*']).config.allowedOrigins, ['*']);
  t.same(parseCommandLine(['--allowed-origins', 'https://dash.example.com, http://10.0.0.5:3000']).config.allowedOrigins,
    ['https://dash.example.com', 'http://10.0.0.5:3000']);
  t.same(parseCommandLine(['--allowed-origins', 'https://Dash.Example.com/']).config.allowedOrigins, ['https://dash.example.com'],
    'written as browsers send it');
  t.throws(() => parseCommandLine(['--allowed-origins', 'https://example.com/app']), ConfigError, 'a path is not an origin');
  t.throws(() => parseCommandLine(['--allowed-origins', 'example.com']), ConfigError, 'no scheme');
  t.throws(() => parseCommandLine(['--allowed-origins', ',']), ConfigError, 'empty');
});

t.test('with --allowed-origins a listed origin opens the WebSocket and others, localhost included, get 403', async (t) => {
  const tp = await startTp(t, { args: ['--http-port', '0', '--host', '127.0.0.1', '--allowed-origins', 'https://dash.example.com'] });
  const url = `ws://127.0.0.1:${tp.httpPort}/ws`;
  t.equal(await upgradeStatus(url, { origin: 'https://dash.example.com' }), 0, 'the listed origin is accepted');
  t.equal(await upgradeStatus(url, { origin: 'https://evil.example.net' }), 403);
  t.equal(await upgradeStatus(url, { origin: 'http://localhost:3000' }), 403, 'the list replaces the localhost default');
  t.equal(await upgradeStatus(url, { origin: `http://127.0.0.1:${tp.httpPort}` }), 0, "the page's own origin still works");
});

t.test('--l402-public is off unless given', async (t) => {
  t.equal(parseCommandLine([]).config.l402Public, false);
  t.equal(parseCommandLine(['--l402-public']).config.l402Public, true);
});

t.test('NATS addresses, stream replicas and the entitlement period are checked on the command line', async (t) => {
  t.equal(refusal(['sym', 'd', '--nats', ',']), '--nats needs at least one URL');
  t.equal(refusal(['sym', 'd', '--nats', 'not a url']), "--nats: cannot read 'not a url' as a NATS URL (nats://host:port or host:port)");
  t.equal(refusal(['--from-nats', 'http://x:4222', 'd']), "--from-nats: cannot read 'http://x:4222' as a NATS URL (nats://host:port or host:port)");
  for (const ok of ['nats://127.0.0.1:4222', 'localhost:4222', 'tls://nats.example.com:4443,nats://b:4222', 'nats.example.com', '::1', '[::1]:4222', 'nats://[fe80::1]:4222']) {
    t.equal(refusal(['sym', 'd', '--nats', ok]), 'accepted', ok);
  }
  for (const no of ['ws://x:4222', 'nats://u:p@x:4222']) t.match(refusal(['sym', 'd', '--nats', no]), /cannot read/, `${no}: not for the Node client`);
  t.equal(refusal(['sym', 'd', '--nats', 'localhost:4222', '--nats-replicas', '7']), '--nats-replicas must be 1, 3 or 5, got 7');
  t.equal(parseCommandLine(['sym', 'd', '--nats', 'localhost:4222', '--nats-replicas', '3']).config.natsReplicas, 3);
  t.equal(refusal(['--entitlement', '0']), "--entitlement must be longer than 0, got '0'");
  t.equal(parseCommandLine(['--entitlement', '30m']).config.entitlementMs, 1_800_000);
});

t.test('numbers are digits: an empty, blank, hex or exponent value is refused, not read as 0 or converted', async (t) => {
  t.equal(refusal(['--price', '']), "--price must be an integer >= 0, got ''", "an unset $PRICE would make every table free");
  t.equal(refusal(['-p', '']), "--port must be an integer >= 0, got ''");
  t.equal(refusal(['-p', ' ']), "--port must be an integer >= 0, got ' '");
  t.equal(refusal(['--price', '0x64', '--lightning', 'dev']), "--price must be an integer >= 0, got '0x64'");
  t.equal(refusal(['-p', '1e3']), "--port must be an integer >= 0, got '1e3'");
  t.equal(refusal(['-o', '']), "-o must be a whole number of hours (or minutes when |N| > 23), got ''");
  t.equal(refusal(['-o', '1.5']), "-o must be a whole number of hours (or minutes when |N| > 23), got '1.5'");
  t.equal(parseCommandLine(['-o-5']).config.utcOffsetHours, -5);
  t.equal(parseCommandLine(['-o', '+330']).config.utcOffsetHours, 330);
  t.equal(parseCommandLine(['--price', '250', '--lightning', 'dev']).config.priceSat, 250);
});

t.test('an option that would be ignored, or an argument too many, is a mistake', async (t) => {
  t.equal(refusal(['--pricing', 'p.json']), '--pricing needs a payment backend (--lnd or --lightning dev); without one every table is free');
  t.equal(refusal(['--price', '5']), '--price needs a payment backend (--lnd or --lightning dev); without one every table is free');
  t.equal(refusal(['--dev-autopay', '5', '--lnd', 'h:1']), '--dev-autopay needs --lightning dev');
  t.equal(refusal(['--tls-cert', 'c.pem']), '--tls-cert needs --tls-port');
  t.equal(refusal(['--nats-creds', 'x.creds']), '--nats-creds needs --nats or --from-nats');
  t.equal(refusal(['sym', 'd', '--failover', '5s', '--nats', 'localhost:4222']), '--failover needs --ha');
  t.equal(refusal(['sym', 'd', 'extra']), "unexpected argument 'extra' (usage: tickerplant [SRC [DST]] [options])");
  t.equal(refusal(['pay', 'lnbc1', 'lnbc2']), "unexpected argument 'lnbc2' (usage: tickerplant pay PAYMENT_REQUEST [-p port])");
  t.equal(refusal(['--to', 'h:1']), '--to is an option of tickerplant replay');
  t.equal(refusal(['pay', 'lnbc1', '--count-only']), '--count-only is an option of tickerplant replay');
  t.equal(refusal(['replay', 'log', '--limit', '5']), '--limit needs --to');
  t.equal(refusal(['replay', 'log', '--to', 'h:1', '--limit', '5']), 'accepted');
  t.equal(refusal(['--lightning', 'dev', '--dev-autopay', '5', '--pricing', 'p.json']), 'accepted');
  t.equal(refusal(['--help', 'extra', '--to', 'x']), 'accepted', '--help shows the help whatever follows');
});

t.test('an option not given is read from its environment variable; the option wins, and an empty variable counts as unset', async (t) => {
  t.equal(parseCommandLine([], { TP_PORT: '6000' }).config.port, 6000);
  t.equal(parseCommandLine(['-p', '7000'], { TP_PORT: '6000' }).config.port, 7000, 'the command line wins');
  t.equal(parseCommandLine([], { TP_PORT: '' }).config.port, 5010, 'TP_PORT= is the default, not a refusal');
  t.equal(parseCommandLine([], { TP_LOG_LEVEL: '' }).config.logLevel, 'info');
  t.throws(() => parseCommandLine([], { TP_PORT: 'x' }), { name: 'ConfigError' }, 'a variable that is set is checked as the option is');
  t.throws(() => parseCommandLine(['-p', '']), { name: 'ConfigError' }, "an empty option is still a mistake (`-p ''`, an unset $PORT)");
});
