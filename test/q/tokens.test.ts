// The tokenizer of the accepted forms' literals: names, symbols and symbol lists, strings with q's
// escapes, and ( ) [ ] ; $ — anything else is 'access, a text over 64 KiB 'limit before it is read.
import t from 'tap';
import { QError } from '../../src/errors.js';
import { MAX_TEXT_BYTES, sameToken, tokenize } from '../../src/q/tokens.js';

const error = (text: string): string => {
  try {
    tokenize(text);
    return 'no error';
  } catch (err) {
    return err instanceof QError ? `'${err.message}` : `not a QError: ${String(err)}`;
  }
};

t.test('names, symbols and punctuation are read as q writes them, white space between tokens free', async (t) => {
  t.strictSame(tokenize(' .u.sub[`trade;`IBM`MSFT.O]\n'), [
    { kind: 'name', text: '.u.sub' }, { kind: 'punct', text: '[' }, { kind: 'sym', names: ['trade'] },
    { kind: 'punct', text: ';' }, { kind: 'sym', names: ['IBM', 'MSFT.O'] }, { kind: 'punct', text: ']' },
  ]);
  t.strictSame(tokenize('`.u `i`L'), [{ kind: 'sym', names: ['.u'] }, { kind: 'sym', names: ['i', 'L'] }],
    'a space ends a symbol list');
  t.strictSame(tokenize('`'), [{ kind: 'sym', names: [''] }], 'the null symbol');
  t.strictSame(tokenize('``'), [{ kind: 'sym', names: ['', ''] }]);
  t.strictSame(tokenize('$[`m in key`.u'), [
    { kind: 'punct', text: '$' }, { kind: 'punct', text: '[' }, { kind: 'sym', names: ['m'] },
    { kind: 'name', text: 'in' }, { kind: 'name', text: 'key' }, { kind: 'sym', names: ['.u'] },
  ]);
  t.strictSame(tokenize(''), []);
});

t.test('strings keep their bytes and read q escapes: \\" \\\\ \\n \\r \\t and three octal digits', async (t) => {
  const [s] = tokenize('"a\\"\\\\\\n\\r\\t\\101\xe9"');
  t.strictSame(s, { kind: 'str', bytes: Uint8Array.from([0x61, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x41, 0xe9]) });
  t.strictSame(tokenize('""'), [{ kind: 'str', bytes: new Uint8Array(0) }]);
});

t.test('unterminated strings, unknown escapes and other characters are access', async (t) => {
  for (const text of ['"abc', '"abc\\"', '"\\q"', '1', '1+1', '{x}', ':', "'", '/', '\\l', '#', '@', '-', '!', ',', '\x00']) {
    t.equal(error(text), "'access", JSON.stringify(text));
  }
});

t.test('a text over 64 KiB is limit, and more tokens than any form has is access', async (t) => {
  t.equal(error(' '.repeat(MAX_TEXT_BYTES)), 'no error');
  t.equal(error(' '.repeat(MAX_TEXT_BYTES + 1)), "'limit");
  t.equal(error(';'.repeat(32)), 'no error');
  t.equal(error(';'.repeat(33)), "'access");
  t.equal(error('('.repeat(10_000)), "'access", 'deep nesting is refused at the 33rd token, not walked');
});

t.test('sameToken compares kind and value, symbol lists item by item', async (t) => {
  const [a, b, c, d] = [...tokenize('`i`L `i`L'), ...tokenize('`iL `i`L`')];
  t.ok(sameToken(a!, b!));
  t.notOk(sameToken(a!, c!), '`i`L is not `iL');
  t.notOk(sameToken(a!, d!), '`i`L is not `i`L`');
  t.ok(sameToken(tokenize('"x"')[0]!, tokenize('"x"')[0]!));
  t.notOk(sameToken(tokenize('"x"')[0]!, tokenize('x')[0]!));
});

t.test("q's one- and zero-item symbol lists are one sym token each: enlist`IBM, `$(), ()", async (t) => {
  t.strictSame(tokenize('enlist`IBM'), [{ kind: 'sym', names: ['IBM'], list: true }]);
  t.strictSame(tokenize('`$()'), [{ kind: 'sym', names: [], list: true }]);
  t.strictSame(tokenize('()'), [{ kind: 'sym', names: [], list: true }]);
  t.strictSame(tokenize('enlist`A`B'), [{ kind: 'name', text: 'enlist' }, { kind: 'sym', names: ['A', 'B'] }], 'enlist of a list is not one');
  t.strictSame(tokenize('`x$()'), [{ kind: 'sym', names: ['x'] }, { kind: 'punct', text: '$' }, { kind: 'sym', names: [], list: true }]);
});
