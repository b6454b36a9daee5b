// Command-line options that parse into Config (src/config.ts); --allowed-origins end to end through app.ts.
import t from 'tap';
import { parseCommandLine } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { startTp } from './helpers/tp.js';
import { upgradeStatus } from './ws/fixture.js';

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
