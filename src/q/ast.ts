// Syntax tree of the q subset: literals, names, general lists, application (f[x;y] and f x) and $[c;a;b].
// Infix `x in y` is stored as the application in[x;y]; an empty statement is the literal `::`.
import type { QValue } from '../ipc/values.js';

export interface Literal { readonly kind: 'literal'; readonly value: QValue }
export interface Name { readonly kind: 'name'; readonly name: string }
/** `(a;b;c)` with two or more items, or `()` with none. */
export interface ListExpr { readonly kind: 'list'; readonly items: readonly Node[] }
/** `f[a;b]` (args as written, `f[]` has none) or `f x` (one arg). */
export interface Apply { readonly kind: 'apply'; readonly fn: Node; readonly args: readonly Node[] }
/** `$[c;a;b]`, `$[c1;a1;c2;a2;else]`: an odd number of parts, at least three. */
export interface Cond { readonly kind: 'cond'; readonly parts: readonly Node[] }

export type Node = Literal | Name | ListExpr | Apply | Cond;

/** Statements separated by `;`, evaluated left to right; the value is the last one's. */
export interface Program { readonly statements: readonly Node[] }
