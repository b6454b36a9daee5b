// Hostile strings and lists: every one is refused with a q error before any handler runs (the rig records
// every outward call and the tickerplant's .u.w stays empty). The corpus is the old evaluator's, plus
// soak/security.ts's injections.
import t from 'tap';
import type { Test } from 'tap';
import { list, long, str, sym } from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { answer } from '../../src/q/index.js';
import { injectionTexts } from '../../soak/security.js';
import { qError, rig } from './fixture.js';

function refused(t: Test, msg: QValue, error = "'access"): void {
  const r = rig(t, { chained: true, withPayments: true });
  const got = qError(() => answer(msg, r.ctx));
  const label = msg.type === 10 ? JSON.stringify(Buffer.from(msg.data).toString('latin1').slice(0, 60)) : `type ${msg.type}`;
  t.strictSame({ got, calls: r.calls, subscribed: r.tp.w.count() }, { got: error, calls: [], subscribed: 0 }, label);
}

t.test('q commands, assignments, lambdas and system names are refused with access', async (t) => {
  for (const src of ['system"ls"', '\\\\', '\\l x.q', 'value".u.i"', '.z.pw:{1b}', 'a:1', 'a::1', '.u.sub[`;`]:1',
    '.u.w:()', '.u.i+:1', '{x}[1]', '{system"ls"}[]', 'hopen 5010', 'exit 0', '.z.ts[]', '.z.pg', '.q.system"ls"',
    '`system "ls"', 'key`:/etc', 'get`:/etc/passwd', 'eval parse"1"', 'set[`a;1]', 'reval"1"', '.u.sub each `a`b',
    'select from trade', 'tables[];exit 1', '`.z `pw', '.u.L 0', '.u `w', '.u', '.u[]', '.z.w', '.z.u']) {
    refused(t, str(src));
  }
});

t.test('an accepted form followed or preceded by anything else is refused whole', async (t) => {
  for (const src of ['.u.sub[`;`];system"rm -rf /"', '.u.sub[`;`];`system"rm -rf /"', '(.u.sub[`;`];value"1")',
    '.u.sub[`;`];.u.w:()', '.u.sub[`;`];"unterminated', '.u.sub[`;`];', '.u.sub[`;`];.u.sub[`;`]', '(.u.w;.u.w)',
    '(.u.sub[`;`];.u `i`L;.u `i`L)', 'count .u.w;.u.w', '.u.w .u.w', '(.u.sub[`;`])', '.u.sub[`;`]]']) {
    refused(t, str(src));
  }
});

t.test('operators, adverbs, casts, comments, numbers and partial forms are outside the table', async (t) => {
  for (const src of ['1+1', '-11!`:log', '0N!1', '.u.sub\'[`a`b;`]', '.u.sub/[`a]', '$["i";"1"]', '`int$1',
    '.u.i / comment', '.u.i\n\\ls', '.u.sub[`;]', '.u.sub[;`]', '.u.sub[`trade]', '.u.sub[`a;`b;`c]', '.u.sub `trade',
    '.u.sub[]', '.u.sub', '@[.u.sub;`a;::]', '.u.i-1', '.u.i,1', 'in 1 2', ')', '[1]', '1', '#', '.', '.u.', '\x00',
    '\u00ff', '.u.sub["trade";`]', '.u.sub[`trade;"IBM"]', '.u.sub[`trade;enlist enlist`IBM]', '.u.subPaid[`t;`s;`p]',
    '.dev.pay `x', '(`.u `m)`x', 'tables`', 'tables[`.]', 'count .u.t', '.u.upd[`trade;(`IBM;1f;1i)]']) {
    refused(t, str(src));
  }
});

t.test('unterminated strings and unknown escapes are refused with access', async (t) => {
  for (const src of ['.u.sub[`trade;"IBM]', '"', '"abc\\"', '.dev.pay["\\q"]']) refused(t, str(src));
});

t.test('a text over 64 KiB is limit before it is read, and deep nesting is access, not a stack overflow', async (t) => {
  refused(t, str(`.u.sub[\`;\`];"${'x'.repeat(1024 * 1024)}"`), "'limit");
  refused(t, str(' '.repeat(64 * 1024 + 1)), "'limit");
  refused(t, str(`${'('.repeat(10_000)}.u.i${')'.repeat(10_000)}`));
  refused(t, str('.u.sub['.repeat(5_000)));
  refused(t, str(`${'count '.repeat(5_000)}1`));
});

t.test('soak/security.ts injection texts are all refused and run nothing', async (t) => {
  for (const src of injectionTexts('/tmp/never-created')) {
    refused(t, str(src), Buffer.byteLength(src, 'latin1') > 64 * 1024 ? "'limit" : "'access");
  }
});

t.test('lists that do not name a call form are refused with access', async (t) => {
  for (const msg of [list(sym('system'), str('ls')), list(str('system'), str('ls')), list(sym('value'), str('.u.i')),
    list(sym('count'), long(1n)), list(sym('.u.i'), long(0n)), list(sym('.u'), sym('i')), list(sym('.u.w')),
    list(str('.u.sub[`;`]'), sym('trade'), sym('')), list(sym('.u.end'), sym('x')), list(sym('.z.pw'), sym('u'), str('p')),
    list({ type: 100, context: '', source: new Uint8Array(Buffer.from('.u.sub')) }, sym(''), sym('')),
    list(long(1n), long(2n)), list(), list(sym('__proto__')), list(sym('constructor'), sym(''))]) {
    refused(t, msg);
  }
});

t.test('other message types are refused with access', async (t) => {
  for (const msg of [long(1n), { type: 101, index: 0 } as QValue, { type: 11, attr: 0, data: ['.u.i'] } as QValue,
    { type: 99, keys: { type: 11, attr: 0, data: [] }, values: list() } as QValue]) {
    refused(t, msg);
  }
});
