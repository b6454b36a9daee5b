// Parsing the q subset: right-to-left application without precedence, the tree shapes, and the limits.
import t from 'tap';
import { long, sym, symbols } from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import type { Node } from '../../src/q/ast.js';
import { MAX_DEPTH, MAX_SOURCE_BYTES, parse } from '../../src/q/parser.js';
import { qError } from './fixture.js';

const name = (n: string): Node => ({ kind: 'name', name: n });
const lit = (value: QValue): Node => ({ kind: 'literal', value });
const apply = (fn: Node, ...args: Node[]): Node => ({ kind: 'apply', fn, args });
const only = (src: string): Node | undefined => parse(src).statements[0];

t.test('bracket application keeps its arguments in written order', async (t) => {
  t.strictSame(only('.u.sub[`trade;`IBM]'), apply(name('.u.sub'), lit(sym('trade')), lit(sym('IBM'))));
  t.strictSame(only('tables[]'), apply(name('tables')));
  t.strictSame(only('f[1][2]'), apply(apply(name('f'), lit(long(1n))), lit(long(2n))));
});

t.test('juxtaposition applies right to left: f g x is f[g[x]]', async (t) => {
  t.strictSame(only('f g `x'), apply(name('f'), apply(name('g'), lit(sym('x')))));
  t.strictSame(only('`.u `i`L'), apply(lit(sym('.u')), lit(symbols(['i', 'L']))));
  t.strictSame(only('tables`.'), apply(name('tables'), lit(sym('.'))));
});

t.test('in is infix with everything to its right as the right argument', async (t) => {
  t.strictSame(only('`m in key`.u'), apply(name('in'), lit(sym('m')), apply(name('key'), lit(sym('.u')))));
  t.strictSame(only('count `m in `a`m'),
    apply(name('count'), apply(name('in'), lit(sym('m')), lit(symbols(['a', 'm'])))));
  t.strictSame(only('in[`a;`b]'), apply(name('in'), lit(sym('a')), lit(sym('b'))));
});

t.test('parentheses group, and make a general list when they hold semicolons', async (t) => {
  t.strictSame(only('(`a)'), lit(sym('a')));
  t.strictSame(only('(`a;f `b)'), { kind: 'list', items: [lit(sym('a')), apply(name('f'), lit(sym('b')))] });
  t.strictSame(only('(`.u `m)"x"'), apply(apply(lit(sym('.u')), lit(sym('m'))), lit({ type: -10, value: 'x' })));
});

t.test('$[c;a;b] is a conditional with any odd number of parts from three', async (t) => {
  t.strictSame(only('$[1b;`a;`b]'),
    { kind: 'cond', parts: [lit({ type: -1, value: true }), lit(sym('a')), lit(sym('b'))] });
  const chain = only('$[0b;1;0b;2;3]');
  t.equal(chain?.kind === 'cond' ? chain.parts.length : 0, 5);
  t.equal(qError(() => parse('$[1b;2]')), "'access");
  t.equal(qError(() => parse('$[1b;2;3;4]')), "'access");
  t.equal(qError(() => parse('$ [1b;2;3]')), "'access");
});

t.test('statements are split on semicolons and empty ones are ::', async (t) => {
  t.equal(parse('a;b;c').statements.length, 3);
  t.strictSame(parse('a;').statements[1], { kind: 'literal', value: { type: 101, index: 0 } });
  t.equal(parse('').statements.length, 1);
});

t.test('inputs longer than 64 KiB are refused with limit', async (t) => {
  t.equal(MAX_SOURCE_BYTES, 65_536);
  t.equal(qError(() => parse(' '.repeat(MAX_SOURCE_BYTES))), 'no error');
  t.equal(qError(() => parse(' '.repeat(MAX_SOURCE_BYTES + 1))), "'limit");
});

t.test('nesting deeper than 64 is refused with limit', async (t) => {
  t.equal(MAX_DEPTH, 64);
  const nest = (n: number): string => `${'('.repeat(n)}1${')'.repeat(n)}`;
  t.equal(qError(() => parse(nest(64))), 'no error');
  t.equal(qError(() => parse(nest(65))), "'limit");
  t.equal(qError(() => parse(nest(30_000))), "'limit");
  t.equal(qError(() => parse(`${'f '.repeat(64)}1`)), 'no error');
  t.equal(qError(() => parse(`${'f '.repeat(65)}1`)), "'limit");
  t.equal(qError(() => parse(`${'f['.repeat(100)}`)), "'limit");
});

t.test('a minus sign after a noun is read as the minus operator and refused', async (t) => {
  // q reads `x -1` as x minus 1 when x is a variable; without knowing x we refuse rather than guess.
  for (const src of ['x-1', 'x -1', '(1)-1', 'f[1]-1', '`a -1', '"a" -1']) {
    t.equal(qError(() => parse(src)), "'access", src);
  }
  t.strictSame(only('f[-1]'), apply(name('f'), lit(long(-1n))));
  t.strictSame(only('(-1;-2)'), { kind: 'list', items: [lit(long(-1n)), lit(long(-2n))] });
  t.strictSame(only('1 -1'), lit({ type: 7, attr: 0, data: BigInt64Array.from([1n, -1n]) }));
});
