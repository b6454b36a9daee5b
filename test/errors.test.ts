// What a q client is told for each kind of failure: the catalogue's text for a QError, 'badmsg for bytes
// the decoder refused, the codec's own sentence for a reply it cannot encode, 'lightning unavailable for
// a backend failure, and 'error for everything else, so no path, stack or backend sentence leaks.
import t from 'tap';
import { clientText, ConfigError, IpcDecodeError, IpcEncodeError, LightningError, Q, QError, TpError } from '../src/errors.js';

t.test('a QError reaches the client as its own catalogue text', async (t) => {
  for (const text of Object.values(Q)) t.equal(clientText(new QError(text)), text, text);
  t.equal(clientText(new QError(Q.lightningUnavailable)), 'lightning unavailable');
});

t.test('a QError for an unknown table is the table\'s name, as u.q signals it', async (t) => {
  const e = QError.named('trade');
  t.equal(clientText(e), 'trade');
  t.equal(e.code, 'Q_ERR');
});

t.test('a QError carries no stack frames (refusals are normal traffic) and leaves the stack limit as it was', async (t) => {
  const before = Error.stackTraceLimit;
  const e = new QError(Q.type);
  t.equal(Error.stackTraceLimit, before);
  t.notMatch(e.stack ?? '', /\n\s+at /, 'no frames');
  t.match(new Error('x').stack ?? '', /\n\s+at /, 'other errors still capture frames');
});

t.test('bytes the decoder refused are told as \'badmsg, whatever the decoder\'s sentence', async (t) => {
  t.equal(clientText(new IpcDecodeError('IPC_ERR_TRUNCATED', 'message truncated at byte 17 of /tmp/x')), 'badmsg');
  t.equal(clientText(new IpcDecodeError('IPC_ERR_TOO_DEEP', 'nesting over 64')), 'badmsg');
});

t.test('a reply the codec cannot encode is told in the codec\'s own sentence', async (t) => {
  t.equal(clientText(new IpcEncodeError('symbol contains a NUL byte')), 'symbol contains a NUL byte');
  t.equal(new IpcEncodeError('x').code, 'IPC_ERR_ENCODE');
});

t.test('a Lightning backend failure is told as \'lightning unavailable, not lnd\'s sentence', async (t) => {
  const e = new LightningError('LN_ERR_UNAVAILABLE', 'connect ECONNREFUSED 127.0.0.1:10009 (/root/.lnd/tls.cert)', 14);
  t.equal(clientText(e), 'lightning unavailable');
  t.equal(e.grpcCode, 14);
  t.equal(clientText(new LightningError('LN_ERR_AUTH', 'verification failed: signature mismatch after caveat verification')), 'lightning unavailable');
});

t.test('anything else is told only as \'error, with no path, stack or message leaking', async (t) => {
  const leaks = [
    new Error("ENOENT: no such file or directory, open '/var/lib/tp/secret/ledger.jsonl'"),
    Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }),
    new ConfigError('pricing file /etc/tp/prices.json: bad'),
    new TpError('JOURNAL_ERR_IO', 'journal /data/sym2026.12.01 failed'),
    new TypeError("Cannot read properties of undefined (reading 'x')"),
    'a thrown string with /home/user/path',
    undefined,
    null,
    { message: 'an object that looks like an error' },
  ];
  for (const e of leaks) t.equal(clientText(e), 'error', String((e as { message?: string } | null)?.message ?? e));
});

t.test('every error class keeps its stable code and its own class name', async (t) => {
  t.equal(new ConfigError('x').code, 'CONFIG_ERR_INVALID');
  t.equal(new ConfigError('x').name, 'ConfigError');
  t.equal(new LightningError('LN_ERR_PROTOCOL', 'x').name, 'LightningError');
  t.equal(new IpcDecodeError('IPC_ERR_BAD_TYPE', 'x').name, 'IpcDecodeError');
  t.ok(new QError(Q.access) instanceof TpError);
  const cause = new Error('inner');
  t.equal(new ConfigError('outer', { cause }).cause, cause, 'the cause is kept for the log');
});
