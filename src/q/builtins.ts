// The q keywords this evaluator implements: count, key, in, first, enlist, type, not, null — each only as
// far as the tickerplant's clients need. Spec: code.kx.com/q/ref/<keyword>.
import { QError } from '../errors.js';
import { NULL, bool, count, dict, isVector, list, long, short, sym } from '../ipc/values.js';
import type { QAtom, QValue } from '../ipc/values.js';
import { atomAt, atomKey, collapse, isAtomValue, isNullAtom, nullAtom } from './items.js';
import { NamespaceRef, materialize, namespaceKeys, resolveSymbol } from './runtime.js';
import type { Scope, Val } from './runtime.js';

type Builtin = (args: Val[], scope: Scope) => QValue;

/** Fewest and most arguments each builtin takes (enlist is variadic). */
export const BUILTIN_RANK: Readonly<Record<string, readonly [number, number]>> = {
  count: [1, 1], key: [1, 1], first: [1, 1], type: [1, 1], not: [1, 1], null: [1, 1], in: [2, 2], enlist: [1, 8],
};

const TYPE_NAMES = ['', 'boolean', 'guid', '', 'byte', 'short', 'int', 'long', 'real', 'float', 'char', 'symbol',
  'timestamp', 'month', 'date', 'datetime', 'timespan', 'minute', 'second', 'time'];

export function callBuiltin(name: string, args: Val[], scope: Scope): QValue {
  const [min, max] = BUILTIN_RANK[name] ?? [1, 1];
  if (args.length < min || args.length > max) throw new QError('rank');
  const impl = IMPLS[name];
  if (impl === undefined) throw new QError('nyi');
  return impl(args, scope);
}

const arg = (args: Val[], i: number): Val => args[i] ?? NULL;
const value = (args: Val[], i: number, scope: Scope): QValue => materialize(arg(args, i), scope);

const IMPLS: Readonly<Record<string, Builtin>> = {
  count: (args, scope) => {
    const x = arg(args, 0);
    return long(BigInt(x instanceof NamespaceRef ? namespaceKeys(x, scope).data.length : count(x)));
  },
  key: (args, scope) => keyOf(arg(args, 0), scope),
  first: (args, scope) => firstOf(value(args, 0, scope)),
  enlist: (args, scope) => {
    const items = args.map((a) => materialize(a, scope));
    const only = items[0];
    return items.length === 1 && only !== undefined && !isAtomValue(only) ? list(only) : collapse(items);
  },
  type: (args) => {
    const x = arg(args, 0);
    return short(x instanceof NamespaceRef ? 99 : x.type);
  },
  not: (args, scope) => mapAtoms(value(args, 0, scope), (a) => {
    if (a.type === -11 || a.type === -2) throw new QError('type');
    if (a.type === -10) return a.value.charCodeAt(0) === 0;
    return Number(a.value) === 0; // NaN (0n) is not zero
  }),
  null: (args, scope) => nullOf(value(args, 0, scope)),
  in: (args, scope) => {
    const x = value(args, 0, scope);
    const y = value(args, 1, scope);
    const pool = keysOf(y.type === 99 || y.type === 127 ? y.values : y);
    return mapAtoms(x, (a) => pool.has(atomKey(a)));
  },
};

/** key: a dict's keys, a namespace's names (leading null), a vector's type name, or `key` of a name. */
function keyOf(x: Val, scope: Scope): QValue {
  if (x instanceof NamespaceRef) return namespaceKeys(x, scope);
  if (x.type === 99 || x.type === 127) return x.keys;
  if (isVector(x)) return sym(TYPE_NAMES[x.type] ?? '');
  if (x.type !== -11) throw new QError(x.type === 98 || x.type < 0 ? 'nyi' : 'type');
  // A symbol: `:path would list a directory, which a client must never do from here.
  if (x.value.startsWith(':')) throw new QError('access');
  let target: Val;
  try {
    target = resolveSymbol(x.value, scope);
  } catch (err) {
    if (err instanceof QError && err.message === x.value) return list(); // undefined name: ()
    throw err;
  }
  if (target instanceof NamespaceRef) return namespaceKeys(target, scope);
  if (target.type === 99 || target.type === 127) return target.keys;
  return x;
}

function firstOf(x: QValue): QValue {
  if (x.type === 0) return x.items[0] ?? NULL;
  if (isVector(x)) return count(x) === 0 ? nullAtom(x.type) : atomAt(x, 0);
  if (x.type === 99 || x.type === 127) return firstOf(x.values);
  if (x.type === 98) throw new QError('nyi');
  return x;
}

function nullOf(x: QValue): QValue {
  if (isAtomValue(x)) return bool(isNullAtom(x));
  if (isVector(x)) return mapAtoms(x, isNullAtom);
  if (x.type === 0) return collapse(x.items.map(nullOf));
  if (x.type === 99 || x.type === 127) return dict(x.keys, nullOf(x.values));
  if (x.type === 101 && x.index === 0) return bool(true);
  if (x.type === 98) throw new QError('nyi');
  return bool(false);
}

/** Applies a boolean test to an atom, or to each item of a vector or general list of atoms. */
function mapAtoms(x: QValue, test: (a: QAtom) => boolean): QValue {
  if (isAtomValue(x)) return bool(test(x));
  if (isVector(x)) {
    const n = count(x);
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = test(atomAt(x, i)) ? 1 : 0;
    return { type: 1, attr: 0, data };
  }
  if (x.type === 0) {
    return collapse(x.items.map((item) => {
      if (!isAtomValue(item)) throw new QError('nyi');
      return bool(test(item));
    }));
  }
  throw new QError('type');
}

/** The atomKeys of y's items (an atom is its own single item; non-atom items of a list match nothing). */
function keysOf(y: QValue): Set<string> {
  if (isAtomValue(y)) return new Set([atomKey(y)]);
  const keys = new Set<string>();
  if (isVector(y)) {
    const n = count(y);
    for (let i = 0; i < n; i++) keys.add(atomKey(atomAt(y, i)));
  } else if (y.type === 0) {
    for (const item of y.items) if (isAtomValue(item)) keys.add(atomKey(item));
  } else {
    throw new QError('type');
  }
  return keys;
}
