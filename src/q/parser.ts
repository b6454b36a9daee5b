// Parses the q subset into a Program. q reads right to left with no precedence: `f g x` is f[g[x]] and
// `x in y z` is in[x; y z]. Everything is parsed before anything runs; input over 64 KiB or nested deeper
// than 64 fails with 'limit, anything outside the grammar with 'access.
import { QError } from '../errors.js';
import { NULL, list } from '../ipc/values.js';
import type { Node, Program } from './ast.js';
import { tokenize } from './lexer.js';
import type { Punct, Token } from './lexer.js';

export const MAX_SOURCE_BYTES = 64 * 1024;
export const MAX_DEPTH = 64;

const NULL_NODE: Node = { kind: 'literal', value: NULL };

/** Parses a byte string (one char per byte, as q sees a char vector). */
export function parse(src: string): Program {
  if (src.length > MAX_SOURCE_BYTES) throw new QError('limit');
  return new Parser(tokenize(src)).program();
}

class Parser {
  readonly #tokens: readonly Token[];
  #pos = 0;
  #depth = -1; // the outermost expression of a statement is depth 0

  constructor(tokens: readonly Token[]) {
    this.#tokens = tokens;
  }

  program(): Program {
    const statements = [this.#statement()];
    while (this.#eat(';')) statements.push(this.#statement());
    if (this.#peek() !== undefined) throw access(); // a stray ) or ]
    return { statements };
  }

  #statement(): Node {
    return this.#endsExpression() ? NULL_NODE : this.#expression();
  }

  // expression := term | term `in` expression | term expression
  #expression(): Node {
    if (++this.#depth > MAX_DEPTH) throw new QError('limit');
    const left = this.#term();
    let node = left;
    if (!this.#endsExpression()) {
      if (this.#atInfix()) {
        this.#pos++;
        node = { kind: 'apply', fn: { kind: 'name', name: 'in' }, args: [left, this.#expression()] };
      } else {
        node = { kind: 'apply', fn: left, args: [this.#expression()] };
      }
    }
    this.#depth--;
    return node;
  }

  // term := primary ( '[' args ']' )*
  #term(): Node {
    let node = this.#primary();
    while (this.#peekPunct('[')) node = { kind: 'apply', fn: node, args: this.#bracketed(true) };
    return node;
  }

  #primary(): Node {
    const t = this.#tokens[this.#pos++];
    if (t === undefined) throw access();
    if (t.kind === 'literal') return { kind: 'literal', value: t.value };
    if (t.kind === 'name') {
      if (t.name === 'in' && !this.#peekPunct('[')) throw access(); // a projection of in
      return { kind: 'name', name: t.name };
    }
    if (t.text === '(') return this.#parenthesised();
    if (t.text === '$') {
      const parts = this.#bracketed(false);
      if (parts.length < 3 || parts.length % 2 === 0) throw access(); // $[x;y] is a cast
      return { kind: 'cond', parts };
    }
    throw access();
  }

  // '(' ')' | '(' expression ')' | '(' expression (';' expression)+ ')'
  #parenthesised(): Node {
    if (this.#eat(')')) return { kind: 'literal', value: list() };
    const items = this.#sequence();
    if (!this.#eat(')')) throw access();
    return items.length === 1 ? items[0] as Node : { kind: 'list', items };
  }

  // '[' ']' (only where allowEmpty) | '[' expression (';' expression)* ']'
  #bracketed(allowEmpty: boolean): Node[] {
    if (!this.#eat('[')) throw access();
    if (allowEmpty && this.#eat(']')) return [];
    const items = this.#sequence();
    if (!this.#eat(']')) throw access();
    return items;
  }

  // Items separated by ';'; an empty item (a projection such as f[x;]) is rejected by #primary.
  #sequence(): Node[] {
    const items = [this.#expression()];
    while (this.#eat(';')) items.push(this.#expression());
    return items;
  }

  #atInfix(): boolean {
    const t = this.#peek();
    const after = this.#tokens[this.#pos + 1];
    return t?.kind === 'name' && t.name === 'in' && !(after?.kind === 'punct' && after.text === '[');
  }

  #endsExpression(): boolean {
    const t = this.#peek();
    return t === undefined || (t.kind === 'punct' && (t.text === ';' || t.text === ')' || t.text === ']'));
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#pos];
  }

  #peekPunct(text: Punct): boolean {
    const t = this.#peek();
    return t?.kind === 'punct' && t.text === text;
  }

  #eat(text: Punct): boolean {
    if (!this.#peekPunct(text)) return false;
    this.#pos++;
    return true;
  }
}

function access(): QError {
  return new QError('access');
}
