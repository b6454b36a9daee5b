// The layer rules, enforced: imports point inward only (docs/CONTRIBUTING.md). A regex over each file's
// `from '...'` lines; node: builtins and packages are checked per layer where it matters.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, normalize } from 'node:path';

const SRC = join(process.cwd(), 'src');

/** Which top-level parts of src/ each layer may import (its own folder is always allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  ipc: ['errors.ts'],
  server: ['errors.ts', 'ipc', 'clock.ts', 'address.ts', 'log-rate.ts'],
  journal: ['errors.ts', 'ipc'],
  client: ['errors.ts', 'ipc', 'clock.ts'],
  tick: ['errors.ts', 'ipc', 'journal', 'clock.ts'],
  payments: ['errors.ts', 'ipc', 'tick', 'journal', 'clock.ts', 'address.ts', 'log-rate.ts'],
  // lnd and the dev node implement payments' backend interface, and import nothing else of payments.
  lightning: ['errors.ts', 'backoff.ts', 'clock.ts', 'payments/backend.ts'],
  // The gateway's WebSockets are framed by server/'s RFC 6455 code, as kdb+ ones on the IPC port.
  ws: ['errors.ts', 'ipc', 'tick', 'payments', 'clock.ts', 'server/rfc6455.ts'],
  http: ['errors.ts', 'ipc', 'journal', 'tick', 'ws', 'payments', 'l402', 'clock.ts', 'address.ts', 'log-rate.ts', 'server/rfc6455.ts'],
  chain: ['errors.ts', 'ipc', 'tick', 'client', 'clock.ts', 'backoff.ts'],
  nats: ['errors.ts', 'ipc', 'journal', 'tick', 'clock.ts', 'backoff.ts'],
  // L402 tokens (macaroons, the challenge, caveat checks); the routes that use them are http/'s.
  l402: ['errors.ts', 'tick', 'payments', 'clock.ts'],
  // The q surface is an outer layer: it reads the domain (tick, payments); only the root imports it.
  q: ['errors.ts', 'ipc', 'tick', 'payments'],
};

/** Packages and builtins a layer must not touch: the codec never opens a socket, the domain neither. */
const FORBIDDEN_MODULES: Record<string, RegExp> = {
  ipc: /^(node:(net|tls|http|fs)|pino|ws|@grpc)/,
  q: /^(node:(net|tls|http|fs)|ws|@grpc)/,
  tick: /^(node:(net|tls|http)|ws|@grpc|bolt11)/,
  payments: /^(node:(net|tls|http)|ws|@grpc|bolt11)/,
  journal: /^(node:(net|tls|http)|ws|@grpc)/,
  l402: /^(ws|@grpc)/,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

t.test('every import in src/ points inward, as the layer table says', async (t) => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const layer = rel.includes('/') ? rel.split('/')[0] as string : undefined;
    if (layer === undefined || !(layer in ALLOWED)) continue; // app.ts, cli.ts, ...: the composition root
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'/g)) {
      const spec = m[1] as string;
      checked++;
      if (!spec.startsWith('.')) {
        if (FORBIDDEN_MODULES[layer]?.test(spec)) violations.push(`${rel} imports ${spec}`);
        continue;
      }
      const target = relative(SRC, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts');
      const top = target.includes('/') ? target.split('/')[0] as string : target;
      if (top === layer) continue;
      const ok = (ALLOWED[layer] ?? []).some((a) => a === top || a === target);
      if (!ok) violations.push(`${rel} imports ${target}`);
    }
  }
  t.ok(checked > 100, `${checked} imports checked`);
  t.same(violations, []);
});

t.test('src/ imports only runtime dependencies: a package the tests use (ws, node-q) never reaches an install', async (t) => {
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const imported = new Set<string>();
  for (const file of files(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+'([^'.][^']*)'/g)) {
      const spec = m[1] as string;
      if (spec.startsWith('node:')) continue;
      imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] as string);
    }
  }
  t.ok(imported.has('pino'), 'the scan sees package imports');
  t.same([...imported].filter((p) => !(p in pkg.dependencies)).sort(), []);
});
