// The built `tickerplant` command run as an operator runs it: once to completion, or started on a free
// port until a signal stops it (killed in teardown).
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(process.cwd(), 'dist', 'cli.js');

export function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI on a free port and resolves with the port it printed. */
export function start(t: Test, args: string[]): Promise<{ port: number; stop: (signal: NodeJS.Signals) => Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, '-p', '0', '--unix', '', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stderr.on('data', (d: Buffer) => { // the ready line is on stderr: stdout is the JSON log
      out += d.toString();
      const m = /listening on :(\d+)/.exec(out);
      if (m) resolve({
        port: Number(m[1]),
        stop: (signal) => new Promise((r) => { child.once('exit', (code) => r(code)); child.kill(signal); }),
      });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

