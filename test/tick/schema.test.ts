// The schema reader: KX sym.q, every column form, q comments, and errors with file:line:col.
// Spec: kdb-ipc-and-tick.md §6.1, §6.3.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { emptyTable, loadSchema, parseSchema, SchemaError } from '../../src/tick/schema.js';
import type { TableSchema } from '../../src/tick/schema.js';
import { Attr } from '../../src/ipc/types.js';
import { decodePayload } from '../../src/ipc/decode.js';

const repoFile = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const types = (schemas: TableSchema[], name: string): Record<string, number> => {
  const s = schemas.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no table ${name}`);
  return Object.fromEntries(s.columns.map((c, i) => [c, s.types[i] as number]));
};

t.test('q/sym.q holds KX\'s quote and trade tables', async (t) => {
  const schemas = loadSchema(repoFile('q/sym.q'));
  t.same(schemas, [
    { name: 'quote', columns: ['time', 'sym', 'bid', 'ask', 'bsize', 'asize'], types: [16, 11, 9, 9, 6, 6] },
    { name: 'trade', columns: ['time', 'sym', 'price', 'size'], types: [16, 11, 9, 6] },
  ]);
});

t.test('the empty trade table matches the bytes u.q sends a subscriber (g# on sym)', async (t) => {
  const trade = loadSchema(repoFile('q/sym.q')).find((s) => s.name === 'trade') as TableSchema;
  const tbl = emptyTable(trade);
  t.equal(tbl.data[1]?.type === 11 && tbl.data[1].attr, Attr.Grouped);
  t.equal(tbl.data[0]?.type === 16 && tbl.data[0].attr, Attr.None);
  // The schema half of §4.4's reply to (.u.sub[`;`];.u `i`L).
  const q = '6200630b000400000074696d650073796d0070726963650073697a65000000040000001000000000000b0400000000' +
    '090000000000060000000000';
  t.same(tbl, decodePayload(Buffer.from(q, 'hex')));
  t.not(emptyTable(trade), tbl, 'a fresh table each time');
});

t.test('every type name, char code, 0# literal and untyped form is read', async (t) => {
  const schemas = loadSchema(repoFile('test/fixtures/schema/all-forms.q'));
  t.same(schemas.map((s) => s.name), ['typed', 'chars', 'takes', 'untyped']);
  const expect = {
    time: 16, sym: 11, b: 1, g: 2, x: 4, h: 5, i: 6, j: 7, e: 8, f: 9, c: 10, s: 11,
    p: 12, m: 13, d: 14, z: 15, n: 16, u: 17, v: 18, t: 19,
  };
  t.same(types(schemas, 'typed'), expect);
  t.same(types(schemas, 'chars'), expect);
  t.same(types(schemas, 'takes'), {
    time: 16, sym: 11, f: 9, j: 7, jj: 7, i: 6, h: 5, e: 8, b: 1, x: 4, c: 10, str: 10, s: 11, d: 14, m: 13,
    p: 12, ts: 12, z: 15, u: 17, v: 18, t: 19, nn: 16, g: 2, ff: 9, ee: 8, ii: 6,
  });
  t.same(types(schemas, 'untyped'), { time: 11, sym: 11, any: 0, more: 0 });
  const untyped = emptyTable(schemas.find((s) => s.name === 'untyped') as TableSchema);
  t.same(untyped.data[2], { type: 0, attr: Attr.None, items: [] });
});

t.test('whitespace and newlines may appear anywhere inside the parentheses', async (t) => {
  const text = 'trade:(  [ ]\n  time : `timespan$ ( ) ;\n\n sym:`g# `symbol$();\r\n price:`float$()\n )\r\n';
  t.same(parseSchema(text, 'x.q'), [{ name: 'trade', columns: ['time', 'sym', 'price'], types: [16, 11, 9] }]);
});

t.test('comments: / lines, trailing / after a space, / … \\ blocks; a / inside a string is not one', async (t) => {
  const text = [
    '/ a comment line',
    'a:([]time:`timespan$();sym:`symbol$()) / trailing',
    '/',
    'b:([]time:`timespan$();sym:`symbol$())',
    '\\',
    'c:([]time:`timespan$();sym:`symbol$();s:0#"a /b") /x',
    '   / an indented comment',
    '',
  ].join('\n');
  t.same(parseSchema(text, 'x.q').map((s) => s.name), ['a', 'c']);
  t.throws(() => parseSchema('a:([]time:();sym:()/not a comment\n)', 'x.q'),
    { message: 'x.q:1:20: unexpected character /' }, 'a / right after code is q\'s over, not a comment');
});

t.test('tables end at a newline or ;, and several may share a line', async (t) => {
  const text = 'a:([]time:();sym:());b:([]time:();sym:());\nc:([]time:();sym:())';
  t.same(parseSchema(text, 'x.q').map((s) => s.name), ['a', 'b', 'c']);
  t.same(parseSchema('', 'x.q'), []);
  t.same(parseSchema('\n/ only a comment\n\n', 'x.q'), []);
});

t.test('tables must start with time and sym: timesym, at the table name', async (t) => {
  const cases: Array<[string, string]> = [
    ['trade:([]sym:`symbol$();time:`timespan$())', 'x.q:1:1: timesym'],
    ['\n  quote:([]time:`timespan$();price:`float$())', 'x.q:2:3: timesym'],
    ['t:([]time:`timespan$())', 'x.q:1:1: timesym'],
    ['t:([])', 'x.q:1:1: timesym'],
  ];
  for (const [text, message] of cases) {
    t.throws(() => parseSchema(text, 'x.q'), { name: 'SchemaError', code: 'SCHEMA_ERR', message }, text);
  }
});

t.test('unsupported definitions name the file, line and column', async (t) => {
  const cases: Array<[string, string]> = [
    ['t:([]time:`timespan$();\n sym:`symbol$();price:`foo$())',
      'q/sym.q:2:23: unsupported column definition for price: `foo$() (unknown type `foo)'],
    ['t:([]time:`timespan$();sym:`symbol$();price:"F"$())',
      'q/sym.q:1:45: unsupported column definition for price: "F"$() (unknown type "F")'],
    ['t:([]time:`timespan$();sym:`symbol$();price:1#0n)',
      'q/sym.q:1:45: unsupported column definition for price: 1#0n'],
    ['t:([]time:`timespan$();sym:`symbol$();price:0#0q)',
      'q/sym.q:1:45: unsupported column definition for price: 0#0q (unknown literal 0q)'],
    ['t:([]time:`timespan$();sym:`symbol$();price:`float$(1 2))',
      'q/sym.q:1:45: unsupported column definition for price: `float$(1 2)'],
    ['t:([]time:`timespan$();sym:`symbol$();price:til 3)',
      'q/sym.q:1:45: unsupported column definition for price: til 3'],
    ['t:([]time:`timespan$();sym:`symbol$();price:`float$())x',
      'q/sym.q:1:55: unexpected x after table t'],
    ['t:([sym:`$()]time:`timespan$())', 'q/sym.q:1:5: unsupported table definition: keyed tables are not supported'],
    ['t:([]time:`timespan$();time:`timespan$())', 'q/sym.q:1:24: duplicate column time in t'],
    ['a:([]time:();sym:())\na:([]time:();sym:())', 'q/sym.q:2:1: duplicate table a'],
    ['.u.x:([]time:();sym:())', 'q/sym.q:1:1: unsupported table name .u.x (tables live in the root namespace)'],
    ['x:42', 'q/sym.q:1:3: unsupported statement: x is not a table definition ([]...)'],
    ['upd:insert', 'q/sym.q:1:5: unsupported statement: upd is not a table definition ([]...)'],
    ['42', 'q/sym.q:1:1: unsupported statement: only table definitions name:([]...) are read'],
    ['\\d .u\nt:([]time:();sym:())', 'q/sym.q:1:1: unsupported system command \\d .u'],
    ['\\l other.q', 'q/sym.q:1:1: unsupported system command \\l other.q'],
    ['t:([]time:`timespan$();sym:`symbol$()', 'q/sym.q:1:38: expected ; or ) after column sym, found end of file'],
    ['t:([]time:"n$())', 'q/sym.q:1:11: unterminated string'],
    ['t:([]time:`timespan$();sym:`symbol$();p:`float$()+1)', 'q/sym.q:1:50: unexpected character +'],
  ];
  for (const [text, message] of cases) {
    const err = t.throws(() => parseSchema(text, 'q/sym.q'), { code: 'SCHEMA_ERR', message }, text) as unknown;
    t.ok(err instanceof SchemaError, 'a SchemaError');
  }
});

t.test('SchemaError carries the position as fields', async (t) => {
  const err = t.throws(() => parseSchema('\n\n   t:([]time:();size:())', 'f.q')) as SchemaError;
  t.match(err, { file: 'f.q', line: 3, column: 4 });
});

t.test('an unreadable schema file is a SCHEMA_ERR naming the path', async (t) => {
  t.throws(() => loadSchema('/nonexistent/sym.q'), { code: 'SCHEMA_ERR', message: /^\/nonexistent\/sym\.q: cannot read schema/ });
});
