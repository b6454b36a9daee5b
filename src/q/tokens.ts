// The literals the accepted forms take, and nothing else: names (`.u.sub`, `count`), symbols and symbol
// lists (`` `trade ``, `` `IBM`MSFT ``, `` ` ``; also `` enlist`IBM ``, `` `$() `` and `()`, q's one- and
// zero-item lists), strings with q's escapes, and ( ) [ ] ; $. Any other character is 'access. Spec: code.kx.com/q/basics/syntax (names, symbols, strings and their escapes).
import { Q, QError } from '../errors.js';

/** The longest text a client may send (q's strings are bytes: one char per byte). */
export const MAX_TEXT_BYTES = 64 * 1024;
/** The longest accepted form (chainedr.q's string) has 25 tokens: a longer text cannot match one. */
const MAX_TOKENS = 32;

export type Token =
  | { readonly kind: 'name'; readonly text: string }
  /** list: a symbol list even of one name (`enlist`IBM`), or of none (`` `$() ``, `()`). */
  | { readonly kind: 'sym'; readonly names: readonly string[]; readonly list?: true }
  | { readonly kind: 'str'; readonly bytes: Uint8Array }
  | { readonly kind: 'punct'; readonly text: string };

const NAME = /[A-Za-z.][A-Za-z0-9._]*/y;
const SYMBOL = /`([A-Za-z0-9._]*)/y;
const SPACE = /[ \t\r\n]+/y;
const ESCAPES: Readonly<Record<string, number>> = { '"': 0x22, '\\': 0x5c, n: 0x0a, r: 0x0d, t: 0x09 };

/** Tokens of q text given as bytes (a latin1 string). Throws 'limit past MAX_TEXT_BYTES, else 'access. */
export function tokenize(text: string): Token[] {
  if (text.length > MAX_TEXT_BYTES) throw new QError(Q.limit);
  const tokens: Token[] = [];
  let at = 0;
  const take = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m) at = re.lastIndex;
    return m;
  };
  while (at < text.length) {
    if (take(SPACE)) continue;
    if (tokens.length === MAX_TOKENS) throw new QError(Q.access);
    const c = text[at] as string;
    if (c === '`') {
      const names: string[] = [];
      for (let m = take(SYMBOL); m; m = take(SYMBOL)) names.push(m[1] as string);
      tokens.push({ kind: 'sym', names });
    } else if (c === '"') {
      tokens.push({ kind: 'str', bytes: readString() });
    } else if ('()[];$'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      at++;
    } else {
      const m = take(NAME);
      if (!m) throw new QError(Q.access);
      tokens.push({ kind: 'name', text: m[0] });
    }
  }
  return lists(tokens);

  // "..." with \" \\ \n \r \t and \ddd (three octal digits); an unterminated string is 'access.
  function readString(): Uint8Array {
    const out: number[] = [];
    for (at++; at < text.length; at++) {
      const c = text[at] as string;
      if (c === '"') { at++; return Uint8Array.from(out); }
      if (c !== '\\') { out.push(c.charCodeAt(0)); continue; }
      const e = text[++at] ?? '';
      const octal = /^[0-7]{3}$/.exec(text.slice(at, at + 3));
      if (octal) { out.push(parseInt(octal[0], 8) & 0xff); at += 2; continue; }
      const code = ESCAPES[e];
      if (code === undefined) throw new QError(Q.access);
      out.push(code);
    }
    throw new QError(Q.access);
  }
}

/** q's spellings of a one- or zero-item symbol list, made one sym token each. */
function lists(tokens: Token[]): Token[] {
  const out: Token[] = [];
  const punct = (k: number, text: string): boolean => { const t = tokens[k]; return t?.kind === 'punct' && t.text === text; };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    const n = tokens[k + 1];
    if (t.kind === 'name' && t.text === 'enlist' && n?.kind === 'sym' && n.names.length === 1 && !n.list) {
      out.push({ kind: 'sym', names: n.names, list: true });
      k++;
    } else if (t.kind === 'sym' && t.names.length === 1 && t.names[0] === '' && punct(k + 1, '$') && punct(k + 2, '(') && punct(k + 3, ')')) {
      out.push({ kind: 'sym', names: [], list: true });
      k += 3;
    } else if (punct(k, '(') && punct(k + 1, ')')) {
      out.push({ kind: 'sym', names: [], list: true });
      k++;
    } else {
      out.push(t);
    }
  }
  return out;
}

/** Whether two tokens are the same literal (a form's fixed parts). */
export function sameToken(a: Token, b: Token): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'sym' && b.kind === 'sym') return a.names.join('`') === b.names.join('`') && a.names.length === b.names.length && a.list === b.list;
  if (a.kind === 'str' && b.kind === 'str') return Buffer.from(a.bytes).equals(Buffer.from(b.bytes));
  return (a as { text: string }).text === (b as { text: string }).text;
}
