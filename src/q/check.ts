// The pass between parsing and running: rejects with 'access every name (and every symbol applied as a
// function, as in `` `system "ls" ``) that q would let run system commands, evaluate code or open handles,
// so a string containing one never runs any part of itself. Unknown harmless names fail later, as in q.
import { QError } from '../errors.js';
import type { Node, Program } from './ast.js';
import type { Env } from './env.js';
import { isForbiddenName, isQName } from './names.js';

export function checkProgram(program: Program, env: Env): void {
  for (const statement of program.statements) checkNode(statement, env);
}

// Recursion depth is bounded by the parser's nesting limit.
function checkNode(node: Node, env: Env): void {
  switch (node.kind) {
    case 'literal':
      return;
    case 'name':
      if (isForbiddenName(node.name, env)) throw new QError('access');
      return;
    case 'list':
      for (const item of node.items) checkNode(item, env);
      return;
    case 'cond':
      for (const part of node.parts) checkNode(part, env);
      return;
    case 'apply':
      if (node.fn.kind === 'literal' && node.fn.value.type === -11) {
        const name = node.fn.value.value;
        if (!isQName(name) || isForbiddenName(name, env)) throw new QError('access');
      }
      checkNode(node.fn, env);
      for (const arg of node.args) checkNode(arg, env);
  }
}
