// q application and indexing: natives and builtins are called (arity checked, `f[]` passes `::`), a
// namespace or dict is indexed by key, a vector or list by position, a symbol dereferences the global it
// names (`` `.u `i`L ``), and an integer — a remote handle in q — is 'nyi here.
import { QError } from '../errors.js';
import { NULL, count, isVector, vector } from '../ipc/values.js';
import type { QAtom, QDict, QValue } from '../ipc/values.js';
import { BUILTIN_RANK, callBuiltin } from './builtins.js';
import { atomAt, atomEquals, collapse, isAtomValue, nullAtom } from './items.js';
import { NamespaceRef, builtinOf, materialize, memberValue, resolveSymbol } from './runtime.js';
import type { Scope, Val } from './runtime.js';

/** Applies f to args (already evaluated, in written order). A native may return a Promise. */
export function applyValue(f: Val, args: Val[], scope: Scope): Val | Promise<QValue> {
  if (f instanceof NamespaceRef) return indexNamespace(f, args, scope);
  const native = scope.env.functionOf(f);
  if (native !== undefined) {
    const values = args.length === 0 ? [NULL] : args.map((a) => materialize(a, scope));
    if (values.length !== native.arity) throw new QError('rank');
    return native.fn(values, scope.ctx);
  }
  const builtin = builtinOf(f);
  if (builtin !== undefined) {
    const rank = BUILTIN_RANK[builtin];
    return callBuiltin(builtin, args.length === 0 && rank !== undefined && rank[0] === 1 ? [NULL] : args, scope);
  }
  if (f.type === -11) return applyData(resolveSymbol(f.value, scope), args, scope);
  return applyData(f, args, scope);
}

// Application of a value that is data, not a name: indexing, `::` as identity, handles.
function applyData(f: Val, args: Val[], scope: Scope): Val | Promise<QValue> {
  if (f instanceof NamespaceRef || scope.env.functionOf(f) !== undefined || builtinOf(f) !== undefined) {
    return applyValue(f, args, scope);
  }
  if (f.type === -5 || f.type === -6 || f.type === -7) throw new QError('nyi'); // a handle: remote call
  if (f.type === 101 && f.index === 0) {
    if (args.length > 1) throw new QError('rank');
    return args[0] ?? NULL;
  }
  let result: Val = f;
  for (const a of args) result = indexBy(materialize(result, scope), materialize(a, scope));
  return result;
}

// `.u `i` is a member, `.u `i`L` the general list of members, `.u[]` the whole dict; `.u[`w;`t]` goes deeper.
function indexNamespace(ns: NamespaceRef, args: Val[], scope: Scope): Val | Promise<QValue> {
  const [key, ...rest] = args;
  if (key instanceof NamespaceRef) throw new QError('type');
  if (key === undefined || (key.type === 101 && key.index === 0)) return materialize(ns, scope);
  let member: Val;
  if (key.type === -11) member = memberValue(ns, key.value, scope);
  else if (key.type === 11) {
    member = { type: 0, attr: 0, items: key.data.map((m) => materialize(memberValue(ns, m, scope), scope)) };
  } else throw new QError('type');
  return rest.length === 0 ? member : applyData(member, rest, scope);
}

/** x[i] for a dict, vector or general list and an atom or list index; out of range gives a null. */
function indexBy(x: QValue, i: QValue): QValue {
  if (i.type === 101 && i.index === 0) return x;
  if (x.type === 99 || x.type === 127) return lookupKey(x, i);
  if (!isVector(x) && x.type !== 0) throw new QError(x.type === 98 ? 'nyi' : 'type');
  if (i.type === -5 || i.type === -6 || i.type === -7) return itemAt(x, Number(i.value));
  if (i.type === 5 || i.type === 6 || i.type === 7) {
    const n = count(i);
    const items: QValue[] = [];
    for (let k = 0; k < n; k++) items.push(itemAt(x, Number(atomAt(i, k).value)));
    if (x.type === 0) return { type: 0, attr: 0, items };
    return n === 0 ? vector(x.type, 0) : collapse(items);
  }
  throw new QError('type');
}

function itemAt(x: QValue, position: number): QValue {
  if (x.type === 0) return x.items[position] ?? NULL;
  if (!isVector(x)) throw new QError('type');
  return position >= 0 && position < count(x) ? atomAt(x, position) : nullAtom(x.type);
}

function lookupKey(d: QDict, key: QValue): QValue {
  if (isAtomValue(key)) return valueAt(d, positionOf(d.keys, key));
  if (!isVector(key)) throw new QError('type');
  const items: QValue[] = [];
  const n = count(key);
  for (let k = 0; k < n; k++) items.push(valueAt(d, positionOf(d.keys, atomAt(key, k))));
  if (!isVector(d.values)) return { type: 0, attr: 0, items };
  return n === 0 ? vector(d.values.type, 0) : collapse(items);
}

function positionOf(keys: QValue, key: QAtom): number {
  if (!isVector(keys)) throw new QError('nyi'); // keyed tables, general-list keys
  if (keys.type === 11 && key.type === -11) return keys.data.indexOf(key.value);
  const n = count(keys);
  for (let k = 0; k < n; k++) if (atomEquals(atomAt(keys, k), key)) return k;
  return -1;
}

function valueAt(d: QDict, position: number): QValue {
  const values = d.values;
  if (values.type === 0) return values.items[position] ?? NULL;
  if (!isVector(values)) throw new QError('nyi');
  return position >= 0 && position < count(values) ? atomAt(values, position) : nullAtom(values.type);
}
