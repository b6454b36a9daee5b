// The RFC 6455 handshake helpers (src/server/rfc6455.ts) both WebSocket protocols use: which requests are
// upgrades, the 101 answer with RFC 6455's own sample key, refusals, and credentials from an upgrade.
// The frame reader is tested through its two users: test/server/websocket-*.test.ts and test/ws/gateway.test.ts.
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { offeredProtocols, refuseUpgrade, switchProtocols, upgradeCredentials, upgradeProblem } from '../../src/server/rfc6455.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455 §1.3's example
const request = (headers: Record<string, string>, method = 'GET'): IncomingMessage =>
  ({ method, headers: { upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': KEY, ...headers } }) as unknown as IncomingMessage;

function written(f: (s: PassThrough) => void): Promise<string> {
  const s = new PassThrough();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    f(s);
    if (!s.writableEnded) s.end();
  });
}

t.test('a GET naming websocket, version 13 and a 16-byte key is an upgrade; each other is refused with why', async (t) => {
  t.equal(upgradeProblem(request({})), undefined);
  t.equal(upgradeProblem(request({ upgrade: 'WebSocket' })), undefined, 'the token is case-insensitive');
  t.equal(upgradeProblem(request({}, 'POST')), 'method is not GET');
  t.equal(upgradeProblem(request({ upgrade: 'h2c' })), 'Upgrade is not websocket');
  t.equal(upgradeProblem(request({ 'sec-websocket-version': '8' })), 'Sec-WebSocket-Version is not 13');
  t.equal(upgradeProblem(request({ 'sec-websocket-key': 'c2hvcnQ=' })), 'Sec-WebSocket-Key missing or malformed');
});

t.test('the 101 carries the accept hash of RFC 6455\'s example, and the subprotocol only when offered', async (t) => {
  const offered = await written((s) => switchProtocols(s, request({ 'sec-websocket-protocol': 'auth.eDp5, kdb' }), 'kdb'));
  t.match(offered, /^HTTP\/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n/);
  t.match(offered, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
  t.match(offered, /\r\nSec-WebSocket-Protocol: kdb\r\n\r\n$/, 'never the credential');
  const plain = await written((s) => switchProtocols(s, request({}), 'kdb'));
  t.notMatch(plain, /Sec-WebSocket-Protocol/);
});

t.test('offered subprotocols are split on commas and trimmed', async (t) => {
  t.same(offeredProtocols(request({ 'sec-websocket-protocol': ' a , b,,c ' })), ['a', 'b', 'c']);
  t.same(offeredProtocols(request({})), []);
});

t.test('a refusal is a complete HTTP response that closes the connection', async (t) => {
  const bare = await written((s) => refuseUpgrade(s, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic realm="kdb+"' }));
  t.equal(bare, 'HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nWWW-Authenticate: Basic realm="kdb+"\r\nContent-Length: 0\r\n\r\n');
  const body = await written((s) => refuseUpgrade(s, 403, 'Forbidden', {}, 'origin not allowed'));
  t.equal(body, 'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 18\r\n\r\norigin not allowed');
});

t.test('credentials come from HTTP Basic, else from an auth. subprotocol; none is undefined', async (t) => {
  const basic = `Basic ${Buffer.from('alice:pa:ss').toString('base64')}`;
  t.same(upgradeCredentials(basic, []), { user: 'alice', password: 'pa:ss' }, 'the password is all after the first colon');
  const token = `auth.${Buffer.from('bob:pw').toString('base64url')}`;
  t.same(upgradeCredentials(undefined, ['tickerplant', token]), { user: 'bob', password: 'pw' });
  t.same(upgradeCredentials(basic, [token]), { user: 'alice', password: 'pa:ss' }, 'Basic wins');
  t.same(upgradeCredentials(`Basic ${Buffer.from('carol').toString('base64')}`, []), { user: 'carol', password: '' }, 'no colon: a user without password');
  t.equal(upgradeCredentials(undefined, ['tickerplant']), undefined);
  t.equal(upgradeCredentials('Bearer abc', [token]), undefined, 'an Authorization that is not Basic gives none');
  t.equal(upgradeCredentials(undefined, ['auth.not base64!']), undefined);
});
