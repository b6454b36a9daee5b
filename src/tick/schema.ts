// Reads the table definitions of a tick schema file (KX tick/sym.q): `name:([]col:type;...)` lines.
// Spec: KxSystems/kdb-tick tick.q and tick/sym.q (schema, 'timesym, g# on sym); q's script
// syntax for comments (code.kx.com/q/basics/syntax#comments) and casts (code.kx.com/q/ref/cast).
import { readFileSync } from 'node:fs';
import { TpError } from '../errors.js';
import { Attr, TYPE_CHAR } from '../ipc/types.js';
import { table, vector } from '../ipc/values.js';
import type { QTable, QValue, QVectorType } from '../ipc/values.js';

export interface TableSchema {
  readonly name: string;
  readonly columns: readonly string[];
  /** Vector type code per column; 0 = untyped general list. */
  readonly types: readonly number[];
}

/** A schema file q's tick.q would reject, or that uses syntax this reader does not support. */
export class SchemaError extends TpError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  constructor(file: string, line: number, column: number, reason: string) {
    super('SCHEMA_ERR', `${file}:${line}:${column}: ${reason}`);
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

const TYPE_NAMES: Readonly<Record<string, number>> = {
  boolean: 1, guid: 2, byte: 4, short: 5, int: 6, long: 7, real: 8, float: 9, char: 10, symbol: 11,
  timestamp: 12, month: 13, date: 14, datetime: 15, timespan: 16, minute: 17, second: 18, time: 19,
};

export function loadSchema(path: string): TableSchema[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TpError('SCHEMA_ERR', `${path}: cannot read schema: ${(err as Error).message}`, { cause: err });
  }
  return parseSchema(text, path);
}

/** The tables of a schema file, in file order. `file` is only used in error messages. */
export function parseSchema(text: string, file: string): TableSchema[] {
  const src = new Source(text, file);
  return new Parser(src, tokenize(src, stripComments(src))).schemas();
}

/** An empty table of the schema: typed empty columns, g# on sym (u.q's reply to a subscriber). */
export function emptyTable(schema: TableSchema): QTable {
  const data = schema.types.map((type, i): QValue => {
    const attr = schema.columns[i] === 'sym' ? Attr.Grouped : Attr.None;
    return type === 0 ? { type: 0, attr, items: [] } : vector(type as QVectorType, 0, attr);
  });
  return table([...schema.columns], data);
}

// ---- source positions -----------------------------------------------------------------------

class Source {
  private readonly lineStarts: number[] = [0];
  constructor(readonly text: string, readonly file: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  error(offset: number, reason: string): SchemaError {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] as number) <= offset) lo = mid; else hi = mid - 1;
    }
    return new SchemaError(this.file, lo + 1, offset - (this.lineStarts[lo] as number) + 1, reason);
  }
}

// ---- comments and system commands -------------------------------------------------------------

/**
 * The text with every comment, `\d .` line and ignored tail blanked to spaces (newlines kept), so
 * offsets still point into the original. q's rules: a line starting `/` is a comment; `/` after
 * whitespace starts a trailing comment; a line of just `/` opens a block closed by a line of just `\`;
 * a line of just `\` outside a block ends the script.
 */
function stripComments(src: Source): string {
  const text = src.text;
  const out = text.replace(/[^\n]/g, ' ').split('');
  let inBlock = false;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    const bare = line.trimEnd();
    if (inBlock) {
      if (bare === '\\') inBlock = false;
    } else if (bare === '/') {
      inBlock = true;
    } else if (bare === '\\') {
      break; // end of script: the rest is not read
    } else if (line.startsWith('/')) {
      // comment line
    } else if (line.startsWith('\\')) {
      if (!/^\\d\s+\.$/.test(bare)) throw src.error(start, `unsupported system command ${bare}`);
    } else {
      const codeEnd = trailingCommentAt(line);
      for (let i = 0; i < codeEnd; i++) out[start + i] = line[i] as string;
    }
    start = end + 1;
  }
  return out.join('');
}

/** Index where a trailing comment starts (a `/` after a space or tab, outside a string), else length. */
function trailingCommentAt(line: string): number {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '/' && i > 0 && (line[i - 1] === ' ' || line[i - 1] === '\t')) {
      return i;
    }
  }
  return line.length;
}

// ---- tokens -----------------------------------------------------------------------------------

type Kind = 'name' | 'sym' | 'str' | 'lit' | 'punct' | 'nl' | 'eof';
interface Token { readonly kind: Kind; readonly text: string; readonly offset: number }

const TOKEN = /\.?[A-Za-z][A-Za-z0-9_.]*|`[A-Za-z0-9_.]*|"(?:[^"\\\n]|\\.)*"|-?\.?[0-9][0-9A-Za-z.:]*|[()[\];:$#]|\n/y;

function tokenize(src: Source, code: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i] as string;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\uFEFF') { i++; continue; }
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(code);
    if (m === null) throw src.error(i, c === '"' ? 'unterminated string' : `unexpected character ${c}`);
    const text = m[0];
    tokens.push({ kind: kindOf(text), text, offset: i });
    i += text.length;
  }
  tokens.push({ kind: 'eof', text: '', offset: code.length });
  return tokens;
}

function kindOf(text: string): Kind {
  const c = text[0] as string;
  if (c === '\n') return 'nl';
  if (c === '`') return 'sym';
  if (c === '"') return 'str';
  if (/^\.?[A-Za-z]/.test(text)) return 'name';
  if (/[-.0-9]/.test(c)) return 'lit';
  return 'punct';
}

// ---- grammar ----------------------------------------------------------------------------------

class Parser {
  private i = 0;
  constructor(private readonly src: Source, private readonly tokens: Token[]) {}

  private peek(skipNewlines: boolean): Token {
    if (skipNewlines) while (this.tokens[this.i]?.kind === 'nl') this.i++;
    return this.tokens[this.i] as Token;
  }

  private take(skipNewlines: boolean): Token {
    const t = this.peek(skipNewlines);
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private expect(text: string, skipNewlines: boolean, what: string): Token {
    const t = this.take(skipNewlines);
    if (t.kind !== 'punct' || t.text !== text) throw this.src.error(t.offset, `expected ${text} ${what}, found ${show(t)}`);
    return t;
  }

  schemas(): TableSchema[] {
    const out: TableSchema[] = [];
    const seen = new Set<string>();
    for (;;) {
      const t = this.take(true);
      if (t.kind === 'eof') return out;
      if (t.kind === 'punct' && t.text === ';') continue;
      if (t.kind !== 'name' || this.peek(false).text !== ':') {
        throw this.src.error(t.offset, `unsupported statement: only table definitions name:([]...) are read`);
      }
      const schema = this.table(t);
      if (seen.has(schema.name)) throw this.src.error(t.offset, `duplicate table ${schema.name}`);
      seen.add(schema.name);
      out.push(schema);
      const after = this.take(false);
      if (after.kind !== 'nl' && after.kind !== 'eof' && !(after.kind === 'punct' && after.text === ';')) {
        throw this.src.error(after.offset, `unexpected ${show(after)} after table ${schema.name}`);
      }
    }
  }

  private table(nameToken: Token): TableSchema {
    const name = nameToken.text;
    if (!isPlainName(name)) throw this.src.error(nameToken.offset, `unsupported table name ${name} (tables live in the root namespace)`);
    this.expect(':', false, `after ${name}`);
    const open = this.take(false);
    if (open.kind !== 'punct' || open.text !== '(') {
      throw this.src.error(open.offset, `unsupported statement: ${name} is not a table definition ([]...)`);
    }
    const bracket = this.take(true);
    if (bracket.kind !== 'punct' || bracket.text !== '[') throw this.src.error(bracket.offset, `unsupported table definition: expected ([]`);
    const close = this.take(true);
    if (close.kind !== 'punct' || close.text !== ']') throw this.src.error(close.offset, 'unsupported table definition: keyed tables are not supported');
    const columns: string[] = [];
    const types: number[] = [];
    if (!(this.peek(true).kind === 'punct' && this.peek(true).text === ')')) {
      for (;;) {
        const col = this.take(true);
        if (col.kind !== 'name' || !isPlainName(col.text)) throw this.src.error(col.offset, `expected a column name, found ${show(col)}`);
        if (columns.includes(col.text)) throw this.src.error(col.offset, `duplicate column ${col.text} in ${name}`);
        this.expect(':', true, `after column ${col.text}`);
        columns.push(col.text);
        types.push(this.columnType(col.text));
        const sep = this.take(true);
        if (sep.kind === 'punct' && sep.text === ')') break;
        if (sep.kind !== 'punct' || sep.text !== ';') throw this.src.error(sep.offset, `expected ; or ) after column ${col.text}, found ${show(sep)}`);
      }
    } else {
      this.take(true);
    }
    if (columns[0] !== 'time' || columns[1] !== 'sym') throw this.src.error(nameToken.offset, 'timesym');
    return { name, columns, types };
  }

  /** One column's initial value: [`g#] then (), `type$(), "c"$() or 0#literal. */
  private columnType(column: string): number {
    const start = this.i;
    const first = this.peek(true);
    const fail = (hint?: string): SchemaError => {
      const text = this.snippet(start);
      return this.src.error(first.offset,
        `unsupported column definition for ${column}: ${text}${hint === undefined ? '' : ` (${hint})`}`);
    };
    let t = this.take(true);
    if (t.kind === 'sym' && /^`[gspu]$/.test(t.text) && this.isPunct(this.peek(true), '#')) {
      this.take(true); // an attribute on an empty column: accepted, and only sym's g# is kept (emptyTable)
      t = this.take(true);
    }
    if (this.isPunct(t, '(')) {
      if (!this.isPunct(this.take(true), ')')) throw fail();
      return 0;
    }
    if (t.kind === 'sym' || t.kind === 'str') {
      if (!this.isPunct(this.take(true), '$') || !this.emptyList()) throw fail();
      const type = t.kind === 'sym' ? castByName(t.text.slice(1)) : castByChar(t.text.slice(1, -1));
      if (type === undefined) throw fail(`unknown type ${t.text}`);
      return type;
    }
    if (t.kind === 'lit' && /^0[hij]?$/.test(t.text) && this.isPunct(this.take(true), '#')) {
      const v = this.take(true);
      if (this.isPunct(v, '(')) {
        if (!this.isPunct(this.take(true), ')')) throw fail();
        return 0;
      }
      const type = literalType(v);
      if (type === undefined) throw fail(`unknown literal ${v.text}`);
      return type;
    }
    throw fail();
  }

  private emptyList(): boolean {
    return this.isPunct(this.take(true), '(') && this.isPunct(this.take(true), ')');
  }

  private isPunct(t: Token, text: string): boolean {
    return t.kind === 'punct' && t.text === text;
  }

  /** Source text of a column definition from token `start` to the ; or ) that ends it. */
  private snippet(start: number): string {
    let depth = 0;
    let last = start;
    for (let k = start; k < this.tokens.length; k++) {
      const t = this.tokens[k] as Token;
      if (t.kind === 'eof' || (depth === 0 && t.kind === 'punct' && (t.text === ';' || t.text === ')'))) break;
      if (t.kind === 'punct' && (t.text === '(' || t.text === '[')) depth++;
      if (t.kind === 'punct' && (t.text === ')' || t.text === ']')) depth--;
      last = k;
    }
    const a = this.tokens[start] as Token;
    const b = this.tokens[last] as Token;
    return this.src.text.slice(a.offset, b.offset + b.text.length).replace(/\s+/g, ' ').trim();
  }
}

const isPlainName = (s: string): boolean => /^[A-Za-z][A-Za-z0-9_]*$/.test(s);
const show = (t: Token): string => (t.kind === 'eof' ? 'end of file' : t.kind === 'nl' ? 'end of line' : t.text);

/** `` `float$ `` and friends; `` `$ `` casts to symbol. */
function castByName(name: string): number | undefined {
  if (name === '') return 11;
  return Object.hasOwn(TYPE_NAMES, name) ? TYPE_NAMES[name] : undefined;
}

/** `"f"$`: the lower-case type letters of .Q.t (upper case would parse strings, not cast). */
function castByChar(c: string): number | undefined {
  if (c.length !== 1 || c === ' ') return undefined;
  const type = TYPE_CHAR.indexOf(c);
  return type > 0 ? type : undefined;
}

const NULL_LETTERS: Readonly<Record<string, number>> = {
  g: 2, h: 5, i: 6, j: 7, e: 8, f: 9, p: 12, m: 13, d: 14, z: 15, n: 16, u: 17, v: 18, t: 19,
};

/** The type of the vector `0#x` for a literal x (its atom type, or its vector type for 01b / 0x0102). */
function literalType(t: Token): number | undefined {
  if (t.kind === 'sym') return 11;
  if (t.kind === 'str') return 10;
  if (t.kind !== 'lit') return undefined;
  const s = t.text;
  let m: RegExpExecArray | null;
  if (s === '0n' || s === '0w' || s === '-0w') return 9;
  if (s === '0N' || s === '0W' || s === '-0W') return 7;
  if ((m = /^-?0[NW]([a-z])$/.exec(s)) !== null) return NULL_LETTERS[m[1] as string];
  if (/^[01]+b$/.test(s)) return 1;
  if (/^0x[0-9a-fA-F]*$/.test(s)) return 4;
  if ((m = /^-?[0-9]+([hij]?)$/.exec(s)) !== null) return ({ h: 5, i: 6, j: 7, '': 7 } as Record<string, number>)[m[1] as string];
  if ((m = /^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?([ef]?)$/.exec(s)) !== null) return m[1] === 'e' ? 8 : 9;
  if (/^[0-9]{4}\.[0-9]{2}\.[0-9]{2}$/.test(s)) return 14;
  if (/^[0-9]{4}\.[0-9]{2}m$/.test(s)) return 13;
  if (/^[0-9]{4}\.[0-9]{2}\.[0-9]{2}D[0-9:.]*$/.test(s)) return 12;
  if (/^[0-9]{4}\.[0-9]{2}\.[0-9]{2}T[0-9:.]*$/.test(s)) return 15;
  if (/^-?[0-9]+D[0-9:.]*$/.test(s)) return 16;
  if (/^[0-9]{2}:[0-9]{2}$/.test(s)) return 17;
  if (/^[0-9]{2}:[0-9]{2}:[0-9]{2}$/.test(s)) return 18;
  if (/^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,3}$/.test(s)) return 19;
  if (/^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{4,9}$/.test(s)) return 16;
  return undefined;
}
