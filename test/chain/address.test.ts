// The upstream address of a chained tickerplant, in q's hopen form [host]:port[:user[:password]].
import t from 'tap';
import { describeUpstream, parseUpstreamAddress } from '../../src/chain/address.js';
import { ConfigError } from '../../src/errors.js';

t.test('the upstream address takes q\'s [host]:port[:user:password] form', async (t) => {
  t.same(parseUpstreamAddress('tp1:5010'), { host: 'tp1', port: 5010 });
  t.same(parseUpstreamAddress(':tp1:5010'), { host: 'tp1', port: 5010 }, 'a leading colon, as in hopen');
  t.same(parseUpstreamAddress(':tp1:5010:chain:se:cret'), { host: 'tp1', port: 5010, user: 'chain', password: 'se:cret' }, 'a password may hold colons');
  t.same(parseUpstreamAddress('tp1:5010:chain'), { host: 'tp1', port: 5010, user: 'chain' });
  t.same(parseUpstreamAddress('tp1:5010::'), { host: 'tp1', port: 5010, user: '', password: '' });
});

t.test('an empty host is localhost, as in q', async (t) => {
  t.same(parseUpstreamAddress(':5010'), { host: '127.0.0.1', port: 5010 });
  t.same(parseUpstreamAddress('::5010'), { host: '127.0.0.1', port: 5010 });
});

t.test('a missing or out-of-range port is refused', async (t) => {
  for (const bad of ['tp1', 'tp1:', 'tp1:0', 'tp1:65536', 'tp1:99999', 'tp1:port', '', 'tp1:123456']) {
    t.throws(() => parseUpstreamAddress(bad), ConfigError, JSON.stringify(bad));
  }
  t.same(parseUpstreamAddress('h:65535'), { host: 'h', port: 65535 }, 'the top port is accepted');
  t.same(parseUpstreamAddress('h:1'), { host: 'h', port: 1 });
});

t.test('a refused address is not echoed in the error: it may hold a password', async (t) => {
  const err = t.throws(() => parseUpstreamAddress('tp1:port:user:hunter2')) as Error;
  t.notMatch(err.message, /hunter2|tp1/);
  t.match(err.message, /--chain expects \[host\]:port/);
});

t.test('an upstream is described for logs as host:port, without its credentials', async (t) => {
  t.equal(describeUpstream(parseUpstreamAddress('tp1:5010:chain:hunter2')), 'tp1:5010');
});
