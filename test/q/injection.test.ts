// Hostile strings: every one fails with a q error before any native runs (a spy Env records all calls).
import t from 'tap';
import type { Test } from 'tap';
import { evaluateString } from '../../src/q/eval.js';
import { ctx, qError, tickEnv } from './fixture.js';

/** Evaluates src against a fresh spy Env: the q error text and how many natives ran. */
function attempt(src: string): { error: string; calls: number } {
  const { env, calls } = tickEnv();
  const error = qError(() => evaluateString(src, env, ctx));
  return { error, calls: calls.length };
}

const refused = (t: Test, src: string, error = "'access"): void => {
  t.strictSame(attempt(src), { error, calls: 0 }, JSON.stringify(src.length > 60 ? `${src.slice(0, 60)}…` : src));
};

t.test('system"ls" is refused with access', async (t) => refused(t, 'system"ls"'));
t.test('the \\\\ exit command is refused with access', async (t) => {
  refused(t, '\\\\');
  refused(t, '\\\\\\\\');
});
t.test('\\l x.q (load a script) is refused with access', async (t) => refused(t, '\\l x.q'));
t.test('value".u.i" is refused with access', async (t) => refused(t, 'value".u.i"'));
t.test('.z.pw:{1b} (replacing the password check) is refused with access', async (t) => refused(t, '.z.pw:{1b}'));
t.test('a:1 (assignment) is refused with access', async (t) => {
  refused(t, 'a:1');
  refused(t, 'a::1');
  refused(t, 'a : 1');
  refused(t, '.u.sub[`;`]:1');
});
t.test('.u.w:() (overwriting tickerplant state) is refused with access', async (t) => {
  refused(t, '.u.w:()');
  refused(t, '.u.w::()');
  refused(t, '.u.i+:1');
});
t.test('{x}[1] (a lambda) is refused with access', async (t) => {
  refused(t, '{x}[1]');
  refused(t, '{system"ls"}[]');
});
t.test('hopen 5010 is refused with access', async (t) => refused(t, 'hopen 5010'));
t.test('exit 0 is refused with access', async (t) => refused(t, 'exit 0'));
t.test('a later forbidden statement stops an earlier .u.sub from running', async (t) => {
  refused(t, '.u.sub[`;`];system"rm -rf /"');
  refused(t, '.u.sub[`;`];`system"rm -rf /"');
  refused(t, '(.u.sub[`;`];value"1")');
  refused(t, '.u.sub[`;`];.u.w:()');
  refused(t, '.u.sub[`;`];"unterminated');
});
t.test('a 1 MB string is refused with limit before it is parsed', async (t) => {
  refused(t, `.u.sub[\`;\`];"${'x'.repeat(1024 * 1024)}"`, "'limit");
  refused(t, ' '.repeat(64 * 1024 + 1), "'limit");
  refused(t, 'é'.repeat(40 * 1024), "'limit"); // 80 KiB once UTF-8 encoded
});
t.test('10,000 nested parentheses are refused with limit, not a stack overflow', async (t) => {
  refused(t, `${'('.repeat(10_000)}.u.sub[\`;\`]${')'.repeat(10_000)}`, "'limit");
  refused(t, `${'.u.sub['.repeat(5_000)}`, "'limit");
  refused(t, `${'count '.repeat(5_000)}1`, "'limit");
});
t.test('nesting up to 64 levels is still accepted', async (t) => {
  const { env } = tickEnv();
  t.equal(qError(() => evaluateString(`${'('.repeat(64)}.u.i${')'.repeat(64)}`, env, ctx)), 'no error');
  refused(t, `${'('.repeat(65)}.u.i${')'.repeat(65)}`, "'limit");
});
t.test('unterminated strings and bad escapes are refused with access', async (t) => {
  refused(t, '.u.sub[`trade;"IBM]');
  refused(t, '"');
  refused(t, '"abc\\"');
  refused(t, '.u.upd[`t;"\\q"]');
});
t.test('q system namespaces and dangerous keywords are refused even through symbols', async (t) => {
  for (const src of ['.z.ts[]', '.z.pg', '.Q.hdpf[`:.;`:.;2024.01.01;`sym]', '.q.system"ls"', '`system "ls"',
    'key`:/etc', 'key `:.', 'get`:/etc/passwd', 'eval parse"1"', 'set[`a;1]', 'reval"1"',
    '.u.sub each `a`b', 'select from trade', 'tables[];exit 1', '`.z `pw', '.u.L 0']) {
    refused(t, src);
  }
});
t.test('operators, adverbs, casts, comments and system commands are outside the subset', async (t) => {
  for (const src of ['1+1', '-11!`:log', '0N!1', '.u.sub\'[`a`b;`]', '.u.sub/[`a]', '$["i";"1"]', '`int$1',
    '.u.i / comment', '.u.i\n\\ls', '.u.sub[`;]', '.u.sub[;`]', '(1;;2)', '@[.u.sub;`a;::]', 'x-1', '.u.i-1',
    '.u.i#1', '.u.i,1', '.u.i~1', '.u.i=1', 'in 1 2', '`a in', '.u.sub[`;`]]', ')', '[1]', '1 0b', '1a',
    '2024.13.01', '25:00:00.000x', '3000000000i', '1.5i', '#', '.', '.u.', '.u..i', '\x00', '\u00ff']) {
    refused(t, src);
  }
});
