// Values while evaluating: q values plus a reference to a namespace such as `.u`, which becomes a dict only
// when it leaves the evaluator (so `.u `i`L` reads two members without calling every getter). Also name
// resolution: Env entries, the builtins, `.z.w`/`.z.u` from the caller, else 'access or q's name error.
import { QError } from '../errors.js';
import { NULL, dict, int, list, sym, symbols } from '../ipc/values.js';
import type { QLambda, QSymbolVector, QValue } from '../ipc/values.js';
import type { CallContext, Env, EnvEntry } from './env.js';
import { BUILTIN_NAMES, isForbiddenName, isQName } from './names.js';

export class NamespaceRef {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

export type Val = QValue | NamespaceRef;

/** Where an expression runs: the names it can reach and who is calling. */
export interface Scope { readonly env: Env; readonly ctx: CallContext }

// Builtins evaluated without arguments are opaque lambdas too; this maps them back to their names.
const builtinValues = new Map<string, QLambda>();
const builtinNames = new WeakMap<QValue, string>();

function builtinValue(name: string): QLambda {
  let value = builtinValues.get(name);
  if (value === undefined) {
    value = Object.freeze({ type: 100, context: '', source: new Uint8Array(Buffer.from(name)) });
    builtinValues.set(name, value);
    builtinNames.set(value, name);
  }
  return value;
}

export const builtinOf = (v: QValue): string | undefined => builtinNames.get(v);

/** The value of a global name. */
export function resolveName(name: string, scope: Scope): Val {
  const entry = scope.env.lookup(name);
  if (entry !== undefined) return entryValue(entry);
  if (BUILTIN_NAMES.has(name)) return builtinValue(name);
  if (name === '.z.w') return int(scope.ctx.handle);
  if (name === '.z.u') return sym(scope.ctx.user);
  if (isForbiddenName(name, scope.env)) throw new QError('access');
  throw new QError(name);
}

/** The global a symbol names, as q dereferences `` `.u `` in `` `.u `i`L ``. */
export function resolveSymbol(name: string, scope: Scope): Val {
  if (!isQName(name)) throw new QError('access'); // `:file handles, the root namespace `.
  return resolveName(name, scope);
}

function entryValue(entry: EnvEntry): Val {
  switch (entry.kind) {
    case 'function': return entry.value;
    case 'variable': return entry.get();
    case 'namespace': return new NamespaceRef(entry.name);
  }
}

/** A namespace member by short name; absent members (and the leading null key) are `::`, as in q. */
export function memberValue(ns: NamespaceRef, member: string, scope: Scope): Val {
  if (member === '') return NULL;
  const entry = scope.env.lookup(`${ns.name}.${member}`);
  return entry === undefined ? NULL : entryValue(entry);
}

/** q's key of a namespace: its member names after a leading null symbol. */
export function namespaceKeys(ns: NamespaceRef, scope: Scope): QSymbolVector {
  return symbols(['', ...scope.env.members(ns.name)]);
}

/** The q value: a namespace becomes the dict of its members (null key first, mapped to `::`). */
export function materialize(v: Val, scope: Scope): QValue {
  if (!(v instanceof NamespaceRef)) return v;
  const keys = namespaceKeys(v, scope);
  return dict(keys, list(...keys.data.map((m) => materialize(memberValue(v, m, scope), scope))));
}
