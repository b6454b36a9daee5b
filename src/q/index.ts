// The q layer's surface: the Env that natives are registered in and q's `value` for strings and messages.
export { Env, MAX_ARITY } from './env.js';
export type { CallContext, EnvEntry, FunctionEntry, Native, NamespaceEntry, VariableEntry } from './env.js';
export { evaluateMessage, evaluateString, prepare } from './eval.js';
export { MAX_DEPTH, MAX_SOURCE_BYTES, parse } from './parser.js';
export type { Node, Program } from './ast.js';
