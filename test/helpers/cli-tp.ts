// The tickerplant command as a separate process (dist/cli.js), for tests that kill it with -9.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';

export const CLI = join(process.cwd(), 'dist', 'cli.js');

export interface TpProcess {
  readonly port: number;
  readonly proc: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `tickerplant ARGS -p 0 --unix ''` and resolves with the port it printed. */
export async function spawnTp(t: Test, args: string[]): Promise<TpProcess> {
  const proc = spawn(process.execPath, [CLI, ...args, '-p', '0', '--unix', '', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  proc.once('exit', () => { exited = true; });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    await gone;
  };
  t.teardown(() => kill());
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tickerplant did not start: ${err}`)), 60_000);
    proc.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on :(\d+)/.exec(err); // on stderr: stdout is the JSON log
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tickerplant exited ${code}: ${err}`)); });
  });
  return { port, proc, kill };
}
