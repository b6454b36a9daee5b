// Password files in q's -u/-U form (code.kx.com/q/basics/cmdline/#-u-usr-pwd): plain, MD5 and SHA-1 entries.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allowAll, loadUsersFile, UsersFile } from '../../src/server/auth.js';

// The two hashes are the examples printed in cmdline.md: `md5 "this is my password"` and `-33!"mypassword"`.
const FILE = [
  'alice:wonderland',
  'bob:210d53992dff432ec1b1a9698af9da16',
  'carol:91dfd9ddb4198affc5c194cd8ce6d338fde470e2',
  'dave:',
  'erin:pass:with:colons',
  '',
  'a line without a colon',
  'frank:210D53992DFF432EC1B1A9698AF9DA16',
].join('\n');

function load(t: { testdir(content: Record<string, string>): string }, text: string): UsersFile {
  const dir = t.testdir({ 'users.txt': text });
  return loadUsersFile(join(dir, 'users.txt'));
}

t.test('allowAll accepts any user and password', async (t) => {
  t.equal(allowAll.check('', ''), true);
  t.equal(allowAll.check('anyone', 'anything'), true);
});

t.test('a plain-text password is accepted only when it matches exactly', async (t) => {
  const users = load(t, FILE);
  t.equal(users.check('alice', 'wonderland'), true);
  t.equal(users.check('alice', 'Wonderland'), false);
  t.equal(users.check('alice', 'wonderland '), false);
  t.equal(users.check('alice', ''), false);
});

t.test('an MD5 entry accepts the password whose md5 it is, not the hash itself', async (t) => {
  const users = load(t, FILE);
  t.equal(users.check('bob', 'this is my password'), true);
  t.equal(users.check('bob', '210d53992dff432ec1b1a9698af9da16'), false);
  t.equal(users.check('bob', 'wrong'), false);
});

t.test('an upper-case MD5 entry is the same hash', async (t) => {
  t.equal(load(t, FILE).check('frank', 'this is my password'), true);
});

t.test('a SHA-1 entry accepts the password whose sha1 it is', async (t) => {
  const users = load(t, FILE);
  t.equal(users.check('carol', 'mypassword'), true);
  t.equal(users.check('carol', '91dfd9ddb4198affc5c194cd8ce6d338fde470e2'), false);
  t.equal(users.check('carol', 'mypassword2'), false);
});

t.test('an empty password entry accepts only the empty password', async (t) => {
  const users = load(t, FILE);
  t.equal(users.check('dave', ''), true);
  t.equal(users.check('dave', 'x'), false);
});

t.test('the password is everything after the first colon', async (t) => {
  t.equal(load(t, FILE).check('erin', 'pass:with:colons'), true);
});

t.test('unknown users are refused, whatever the password', async (t) => {
  const users = load(t, FILE);
  t.equal(users.check('mallory', 'wonderland'), false);
  t.equal(users.check('mallory', ''), false);
  t.equal(users.check('', ''), false);
});

t.test('blank lines and lines without a colon define no user', async (t) => {
  const users = load(t, FILE);
  t.equal(users.size, 6);
  t.equal(users.check('a line without a colon', ''), false);
});

t.test('CRLF line ends and a UTF-8 byte order mark are not part of names or passwords', async (t) => {
  const users = load(t, '\uFEFFalice:wonderland\r\nbob:builder\r\n');
  t.equal(users.check('alice', 'wonderland'), true);
  t.equal(users.check('bob', 'builder'), true);
  t.equal(users.check('bob', 'builder\r'), false);
});

t.test('the first entry of a user wins over later duplicates', async (t) => {
  const users = new UsersFile('alice:first\nalice:second\n');
  t.equal(users.check('alice', 'first'), true);
  t.equal(users.check('alice', 'second'), false);
});

t.test('UTF-8 names and passwords match', async (t) => {
  t.equal(new UsersFile('jürgen:pässword').check('jürgen', 'pässword'), true);
});

t.test('a missing password file is an error at load time', async (t) => {
  const dir = t.testdir({});
  t.throws(() => loadUsersFile(join(dir, 'absent.txt')), { code: 'ENOENT' });
});

t.test('the file is read when loaded, not on each check', async (t) => {
  const dir = t.testdir({ 'users.txt': 'alice:one\n' });
  const users = loadUsersFile(join(dir, 'users.txt'));
  writeFileSync(join(dir, 'users.txt'), 'alice:two\n');
  t.equal(users.check('alice', 'one'), true);
});
