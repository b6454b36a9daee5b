// q's `value` for what arrives over IPC: a char vector is parsed (all of it, then checked) and only then
// evaluated; a general list (`.u.sub;`t;`s) or (".u.sub";`t;`s) calls the named function; a symbol reads a
// global. Statements run left to right, arguments and list items right to left, as in q.
// Spec: ../shared/reference/kdb-ipc-and-tick.md §6.5, §6.6, §8.
import { QError } from '../errors.js';
import { NULL } from '../ipc/values.js';
import type { QValue } from '../ipc/values.js';
import type { Node, Program } from './ast.js';
import { applyValue } from './apply.js';
import { checkProgram } from './check.js';
import type { CallContext, Env } from './env.js';
import { collapse, isAtomValue } from './items.js';
import { andThen, mapRightToLeft, runInOrder } from './maybe.js';
import type { Maybe } from './maybe.js';
import { MAX_SOURCE_BYTES, parse } from './parser.js';
import { NamespaceRef, materialize, resolveName, resolveSymbol } from './runtime.js';
import type { Scope, Val } from './runtime.js';

/** Evaluates q text (UTF-8 encoded as q would receive it). Throws QError, or rejects once a native went async. */
export function evaluateString(src: string, env: Env, ctx: CallContext): QValue | Promise<QValue> {
  if (src.length > MAX_SOURCE_BYTES) throw new QError('limit'); // UTF-8 is never shorter than UTF-16
  return evaluateBytes(Buffer.from(src, 'utf8').toString('latin1'), { env, ctx });
}

/** q's `value` of an incoming message. */
export function evaluateMessage(msg: QValue, env: Env, ctx: CallContext): QValue | Promise<QValue> {
  const scope: Scope = { env, ctx };
  switch (msg.type) {
    case 10:
      if (msg.data.length > MAX_SOURCE_BYTES) throw new QError('limit');
      return evaluateBytes(latin1(msg.data), scope);
    case -10:
      return evaluateBytes(msg.value, scope);
    case -11:
      return materialize(resolveSymbol(msg.value, scope), scope);
    case 0:
      return callNamed(msg.items, scope);
    default:
      throw new QError('access');
  }
}

/** Parses and checks q text (a byte string) without running it: what evaluation would accept. */
export function prepare(bytes: string, env: Env): Program {
  const program = parse(bytes);
  checkProgram(program, env);
  return program;
}

function evaluateBytes(bytes: string, scope: Scope): QValue | Promise<QValue> {
  const program = prepare(bytes, scope.env);
  return andThen(runInOrder<Node, Val>(program.statements, (s) => evalNode(s, scope), NULL),
    (v) => materialize(v, scope));
}

// (f;x;y): f is a symbol or string naming a function the Env defines; anything else is refused.
function callNamed(items: readonly QValue[], scope: Scope): QValue | Promise<QValue> {
  const head = items[0];
  let name: string | undefined;
  if (head?.type === -11) name = head.value;
  else if (head?.type === -10) name = head.value;
  else if (head?.type === 10) name = latin1(head.data);
  const entry = name === undefined ? undefined : scope.env.lookup(name);
  if (entry?.kind !== 'function') throw new QError('access');
  const args = items.length === 1 ? [NULL] : items.slice(1);
  if (args.length !== entry.arity) throw new QError('rank');
  return entry.fn(args, scope.ctx);
}

function evalNode(node: Node, scope: Scope): Maybe<Val> {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'name':
      return resolveName(node.name, scope);
    case 'list':
      return andThen(mapRightToLeft(node.items, (n) => evalNode(n, scope)),
        (items) => collapse(items.map((v) => materialize(v, scope))));
    case 'apply':
      return andThen(mapRightToLeft(node.args, (n) => evalNode(n, scope)),
        (args) => andThen(evalNode(node.fn, scope), (f) => applyValue(f, args, scope)));
    case 'cond':
      return evalCond(node.parts, 0, scope);
  }
}

// $[c;a;b] and $[c1;a1;c2;a2;...;else]: only the chosen branch is evaluated.
function evalCond(parts: readonly Node[], at: number, scope: Scope): Maybe<Val> {
  const [test, then, rest] = [parts[at], parts[at + 1], parts[at + 2]];
  if (test === undefined || then === undefined || rest === undefined) throw new QError('access');
  return andThen(evalNode(test, scope), (c) => {
    if (isTrue(c)) return evalNode(then, scope);
    return at + 3 === parts.length ? evalNode(rest, scope) : evalCond(parts, at + 2, scope);
  });
}

/** A $ condition: a non-zero boolean, integral, temporal or float atom. */
function isTrue(c: Val): boolean {
  if (c instanceof NamespaceRef || !isAtomValue(c) || c.type === -2 || c.type === -11) throw new QError('type');
  if (c.type === -10) return c.value.charCodeAt(0) !== 0;
  return Number(c.value) !== 0;
}

/** The bytes of a char vector, one char per byte (q strings are bytes; the lexer reads them as such). */
function latin1(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}
