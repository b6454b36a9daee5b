import t from 'tap';
import { addressBlock } from '../src/address.js';

t.test('addressBlock: an IPv4 address as it is, IPv4-mapped IPv6 as IPv4, IPv6 as its /64 in one spelling', async (t) => {
  t.equal(addressBlock('10.1.2.3'), '10.1.2.3');
  t.equal(addressBlock('::ffff:10.1.2.3'), '10.1.2.3');
  t.equal(addressBlock('2001:db8::1'), '2001:db8:0:0::/64');
  t.equal(addressBlock('2001:0DB8:0000:0000:1:2:3:4'), '2001:db8:0:0::/64');
  t.equal(addressBlock('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.equal(addressBlock('::1'), '0:0:0:0::/64');
  t.equal(addressBlock(''), '');
});
