// The names a client can reach: natives and variables by fully qualified q name (`.u.sub`, `.u.i`, `upd`).
// Namespaces such as `.u` are implied by dotted names; their members are listed in definition order.
import type { QLambda, QValue } from '../ipc/values.js';
import { BUILTIN_NAMES, CONTEXT_NAMES, isDefinableName } from './names.js';

/** The caller, as q's `.z.w` (handle) and `.z.u` (user). */
export interface CallContext { readonly handle: number; readonly user: string }
/** A function implemented in TypeScript; receives exactly `arity` arguments. */
export type Native = (args: QValue[], ctx: CallContext) => QValue | Promise<QValue>;

export interface FunctionEntry {
  readonly kind: 'function';
  readonly name: string;
  readonly arity: number;
  readonly fn: Native;
  /** What the name evaluates to when not applied: an opaque lambda whose source is the name. */
  readonly value: QLambda;
}
export interface VariableEntry { readonly kind: 'variable'; readonly name: string; readonly get: () => QValue }
export interface NamespaceEntry {
  readonly kind: 'namespace';
  readonly name: string;
  readonly members: readonly string[];
}
export type EnvEntry = FunctionEntry | VariableEntry | NamespaceEntry;

/** q functions take 1 to 8 arguments (`f[]` passes one generic null). */
export const MAX_ARITY = 8;

export class Env {
  readonly #entries = new Map<string, EnvEntry>();
  readonly #members = new Map<string, string[]>();
  readonly #byValue = new WeakMap<QLambda, FunctionEntry>();

  defineFunction(name: string, arity: number, fn: Native): void {
    if (!Number.isInteger(arity) || arity < 1 || arity > MAX_ARITY) {
      throw new RangeError(`arity of ${name} must be an integer from 1 to ${MAX_ARITY}`);
    }
    const value: QLambda = Object.freeze({ type: 100, context: '', source: new Uint8Array(Buffer.from(name)) });
    const entry: FunctionEntry = { kind: 'function', name, arity, fn, value };
    this.#define(entry);
    this.#byValue.set(value, entry);
  }

  defineVariable(name: string, get: () => QValue): void {
    this.#define({ kind: 'variable', name, get });
  }

  /** The entry for a fully qualified name, including implied namespaces. */
  lookup(name: string): EnvEntry | undefined {
    return this.#entries.get(name);
  }

  /** The function whose opaque value this is (only values handed out by this Env match). */
  functionOf(value: QValue): FunctionEntry | undefined {
    return value.type === 100 ? this.#byValue.get(value) : undefined;
  }

  /** Member names of a namespace, without the namespace prefix, in definition order. */
  members(namespace: string): readonly string[] {
    return this.#members.get(namespace) ?? [];
  }

  #define(entry: FunctionEntry | VariableEntry): void {
    const { name } = entry;
    if (!isDefinableName(name)) throw new TypeError(`not a definable q name: ${name}`);
    if (BUILTIN_NAMES.has(name) || CONTEXT_NAMES.has(name)) throw new TypeError(`${name} is built in`);
    if (this.#entries.get(name)?.kind === 'namespace') throw new TypeError(`${name} is a namespace`);
    this.#claimNamespaces(name);
    this.#entries.set(name, entry);
  }

  // Registers `.a` and `.a.b` for `.a.b.c`, adding each child to its parent's member list. Checks every
  // parent before changing anything, so a rejected name leaves the Env as it was.
  #claimNamespaces(name: string): void {
    const links: { parent: string; member: string }[] = [];
    for (let child = name, dot = child.lastIndexOf('.'); dot > 0; dot = child.lastIndexOf('.')) {
      const parent = child.slice(0, dot);
      const existing = this.#entries.get(parent);
      if (existing !== undefined && existing.kind !== 'namespace') throw new TypeError(`${parent} is not a namespace`);
      links.push({ parent, member: child.slice(dot + 1) });
      child = parent;
    }
    for (const { parent, member } of links) {
      let members = this.#members.get(parent);
      if (members === undefined) {
        members = [];
        this.#members.set(parent, members);
        this.#entries.set(parent, { kind: 'namespace', name: parent, members });
      }
      if (!members.includes(member)) members.push(member);
    }
  }
}
