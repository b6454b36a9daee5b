// The q surface: the closed table of accepted forms (surface.ts) over the tokenizer of their literals.
export { MAX_TEXT_BYTES, acceptsCall, answer, readFilter, tableName } from './surface.js';
export type { AnswerContext, Caller, Surface } from './surface.js';
