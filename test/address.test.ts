import t from 'tap';
import { EventEmitter } from 'node:events';
import { addressBlock, PeerCount } from '../src/address.js';

t.test('addressBlock: an IPv4 address as it is, IPv4-mapped IPv6 as IPv4, IPv6 as its /64 in one spelling', async (t) => {
  t.equal(addressBlock('10.1.2.3'), '10.1.2.3');
  t.equal(addressBlock('::ffff:10.1.2.3'), '10.1.2.3');
  t.equal(addressBlock('2001:db8::1'), '2001:db8:0:0::/64');
  t.equal(addressBlock('2001:0DB8:0000:0000:1:2:3:4'), '2001:db8:0:0::/64');
  t.equal(addressBlock('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.equal(addressBlock('::1'), '0:0:0:0::/64');
  t.equal(addressBlock(''), '');
});

t.test("a peer's sockets are counted until each closes, a second close of one socket counts once", (t) => {
  const count = new PeerCount();
  const a = new EventEmitter();
  const b = new EventEmitter();
  count.hold('10.0.0.1', a);
  count.hold('10.0.0.1', b);
  count.hold('2001:db8::/64', new EventEmitter());
  t.equal(count.of('10.0.0.1'), 2);
  a.emit('close');
  a.emit('close'); // 'close' is taken once
  t.equal(count.of('10.0.0.1'), 1);
  b.emit('close');
  t.equal(count.of('10.0.0.1'), 0);
  t.equal(count.of('2001:db8::/64'), 1, 'another peer is not touched');
  t.end();
});
