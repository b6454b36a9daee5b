// Splits a q expression (a byte string: one char per byte) into tokens: literals (numbers, times, strings,
// symbols, `::`), names, and the punctuation ( ) [ ] ; $. Anything else — `:` assignment, `\` commands,
// `{` lambdas, `/` adverbs and comments, operators — is outside the subset and fails with 'access.
import { QError } from '../errors.js';
import { NULL, char, sym, symbols } from '../ipc/values.js';
import type { QValue } from '../ipc/values.js';
import { readNumeric, startsNumber } from './literals.js';
import { isQName } from './names.js';

export type Punct = '(' | ')' | '[' | ']' | ';' | '$';
export type Token =
  | { readonly kind: 'literal'; readonly value: QValue; readonly at: number }
  | { readonly kind: 'name'; readonly name: string; readonly at: number }
  | { readonly kind: 'punct'; readonly text: Punct; readonly at: number };

const access = (): QError => new QError('access');

const SYMBOL_CHAR = /[A-Za-z0-9._:]/;
const NAME_RUN = /[A-Za-z.][A-Za-z0-9._]*/y;
const ESCAPES: Readonly<Record<string, number>> = { '"': 0x22, '\\': 0x5c, n: 0x0a, t: 0x09, r: 0x0d };

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isLetter = (c: string | undefined): boolean => c !== undefined && /[A-Za-z]/.test(c);

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  // The previous token ends a noun, so `-` here is the minus operator and `::` an assignment (`x::1`).
  let nounBefore = false;
  let i = 0;
  while (i < src.length) {
    if (isSpace(src[i] as string)) {
      i++;
      continue;
    }
    const { token, end } = readToken(src, i, nounBefore);
    tokens.push(token);
    nounBefore = token.kind !== 'punct' || token.text === ')' || token.text === ']';
    i = end;
  }
  return tokens;
}

function readToken(src: string, i: number, nounBefore: boolean): { token: Token; end: number } {
  const c = src[i] as string;
  if (c === '"') return readString(src, i);
  if (c === '`') return readSymbols(src, i);
  if (c === '-' ? !nounBefore && startsNumber(src, i) : startsNumber(src, i)) {
    const { value, end } = readNumeric(src, i);
    return { token: { kind: 'literal', value, at: i }, end };
  }
  if (isLetter(c) || (c === '.' && isLetter(src[i + 1]))) return readName(src, i);
  if (c === ':' && src[i + 1] === ':' && !nounBefore) {
    return { token: { kind: 'literal', value: NULL, at: i }, end: i + 2 };
  }
  if (c === '$' && src[i + 1] !== '[') throw access(); // casts and the like; only $[c;a;b] is supported
  if ('()[];$'.includes(c)) return { token: { kind: 'punct', text: c as Punct, at: i }, end: i + 1 };
  throw access();
}

/** A string literal with q's escapes; one character makes a char atom, as in q. */
function readString(src: string, start: number): { token: Token; end: number } {
  const bytes: number[] = [];
  let i = start + 1;
  for (;;) {
    const c = src[i];
    if (c === undefined) throw access(); // unterminated
    if (c === '"') break;
    if (c === '\\') {
      const e = src[i + 1];
      const octal = /^[0-7]{3}$/.test(src.slice(i + 1, i + 4));
      if (octal) { bytes.push(parseInt(src.slice(i + 1, i + 4), 8) & 0xff); i += 4; continue; }
      const code = e === undefined ? undefined : ESCAPES[e];
      if (code === undefined) throw access();
      bytes.push(code);
      i += 2;
      continue;
    }
    bytes.push(c.charCodeAt(0));
    i++;
  }
  const value: QValue = bytes.length === 1
    ? char(String.fromCharCode(bytes[0] as number))
    : { type: 10, attr: 0, data: Uint8Array.from(bytes) };
  return { token: { kind: 'literal', value, at: start }, end: i + 1 };
}

/** `` `a `` is a symbol atom, `` `a`b `` (no spaces) a symbol vector, `` ` `` the null symbol. */
function readSymbols(src: string, start: number): { token: Token; end: number } {
  const names: string[] = [];
  let i = start;
  while (src[i] === '`') {
    let j = i + 1;
    const filePath = src[j] === ':';
    while (j < src.length && (SYMBOL_CHAR.test(src[j] as string) || (filePath && src[j] === '/'))) j++;
    names.push(src.slice(i + 1, j));
    i = j;
  }
  const value = names.length === 1 ? sym(names[0] as string) : symbols(names);
  return { token: { kind: 'literal', value, at: start }, end: i };
}

function readName(src: string, start: number): { token: Token; end: number } {
  NAME_RUN.lastIndex = start;
  const m = NAME_RUN.exec(src);
  const name = m?.[0] ?? '';
  if (!isQName(name)) throw access();
  return { token: { kind: 'name', name, at: start }, end: start + name.length };
}
