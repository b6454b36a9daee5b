// The tickerplant under test as an operator runs it (`node dist/cli.js SRC DST -p 0 --unix '' ...`): pino
// lines tallied by message, RSS from /proc, kill -9 or SIGTERM; every child dies with the soak.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { CLI, ROOT, rssBytes } from './env.js';

const live = new Set<ChildProcess>();
/** SIGKILLs every child still running (also done on process exit). */
export function killAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  live.clear();
}
process.on('exit', killAll);
// A signal (Ctrl-C, a test runner's timeout) takes the children too, then does what it would have done.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}

/** The environment for children: without tap's NODE_OPTIONS loaders. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['NODE_OPTIONS'];
  return env;
}

/** `node args` with RLIMIT_NOFILE raised to `fdSoftLimit` (via sh's ulimit) when asked. */
export function spawnNode(args: string[], opts: { fdSoftLimit?: number; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const env = childEnv(opts.env);
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  const child = opts.fdSoftLimit === undefined
    ? spawn(process.execPath, args, { cwd: ROOT, env, stdio })
    : spawn('sh', ['-c', `ulimit -n ${opts.fdSoftLimit} && exec "$0" "$@"`, process.execPath, ...args], { cwd: ROOT, env, stdio });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export interface TpOptions {
  /** SRC (default sym). */
  readonly src?: string;
  /** DST: the journal directory; absent: no journal. */
  readonly dst?: string;
  /** Extra command-line words. */
  readonly args?: readonly string[];
  /** [warn] */
  readonly logLevel?: string;
  /** Keep every output line (for the secret scan); otherwise only a tail and the watched messages. */
  readonly keepOutput?: boolean;
  /** Pino messages whose whole lines are kept (e.g. 'slow consumer dropped'). */
  readonly watch?: readonly string[];
  readonly fdSoftLimit?: number;
  readonly startTimeoutMs?: number;
  /** Node options before the script (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

export interface Exit { readonly code: number | null; readonly signal: NodeJS.Signals | null }

const MSG = /"msg":"((?:[^"\\]|\\.)*)"/;

export class TpProcess {
  readonly port: number;
  /** Pino message → lines seen. */
  readonly messages = new Map<string, number>();
  /** Levels ≥ 50 (error, fatal) lines. */
  readonly errorLines: string[] = [];
  readonly watched: string[] = [];
  /** Everything written to stdout and stderr, when keepOutput. */
  readonly output: string[] = [];
  readonly tail: string[] = [];
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;

  private constructor(readonly proc: ChildProcess, port: number, readonly opts: TpOptions, feed: (f: (line: string) => void) => void) {
    this.port = port;
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        this.exit = { code: proc.exitCode, signal: proc.signalCode };
        resolve(this.exit);
        return;
      }
      proc.once('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); });
    });
    feed((line) => this.onLine(line));
  }

  get pid(): number | undefined { return this.proc.pid; }
  get alive(): boolean { return this.exit === undefined && this.proc.exitCode === null && this.proc.signalCode === null; }
  rss(): number { return this.alive ? rssBytes(this.proc.pid) : NaN; }
  count(msg: string): number { return this.messages.get(msg) ?? 0; }

  /** The command line words after `node dist/cli.js`. */
  static argv(opts: TpOptions): string[] {
    return [opts.src ?? 'sym', ...(opts.dst !== undefined ? [opts.dst] : []), '-p', '0', '--unix', '',
      '--log-level', opts.logLevel ?? 'warn', ...(opts.args ?? [])];
  }

  /** Starts the CLI and resolves once it prints `listening on :PORT`; rejects (with its stderr) if it exits first. */
  static start(opts: TpOptions = {}): Promise<TpProcess> {
    const extra = process.env['SOAK_TP_NODE_ARGS']?.split(' ').filter(Boolean) ?? []; // e.g. --cpu-prof --cpu-prof-dir /tmp/p
    const proc = spawnNode([...extra, ...(opts.nodeArgs ?? []), CLI, ...TpProcess.argv(opts)], opts.fdSoftLimit !== undefined ? { fdSoftLimit: opts.fdSoftLimit } : {});
    const early: string[] = [];
    let sink: ((line: string) => void) | undefined;
    const deliver = (line: string): void => { if (sink) sink(line); else early.push(line); };
    for (const stream of [proc.stdout, proc.stderr]) {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (s: string) => {
        buf += s;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) { deliver(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
      });
      stream?.on('end', () => { if (buf) deliver(buf); buf = ''; });
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`tickerplant did not start: ${early.slice(-5).join(' | ')}`)); },
        opts.startTimeoutMs ?? 20_000);
      const check = (): void => {
        for (const line of early) {
          const m = /listening on :(\d+)/.exec(line);
          if (!m) continue;
          clearTimeout(timer);
          proc.off('exit', onExit);
          const tp = new TpProcess(proc, Number(m[1]), opts, (f) => { sink = f; });
          for (const l of early.splice(0)) tp.onLine(l);
          resolve(tp);
          return;
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        setTimeout(() => reject(new Error(`tickerplant exited (${code ?? signal}) before listening: ${early.slice(-5).join(' | ')}`)), 50);
      };
      proc.once('exit', onExit);
      sink = (line) => { early.push(line); check(); };
    });
  }

  private onLine(line: string): void {
    if (this.opts.keepOutput) this.output.push(line);
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
    const m = MSG.exec(line);
    if (!m) return;
    const msg = m[1] as string;
    this.messages.set(msg, (this.messages.get(msg) ?? 0) + 1);
    if (/"level":(5\d|60)/.test(line) && this.errorLines.length < 100) this.errorLines.push(line);
    if (this.opts.watch?.includes(msg) && this.watched.length < 10_000) this.watched.push(line);
  }

  /** kill -9; resolves when the process is gone. */
  async kill9(): Promise<Exit> {
    if (this.alive) this.proc.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (graceful: journal closed), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<Exit> {
    if (!this.alive) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }
}

/** Runs the CLI to completion (for start-up refusals): exit code and output. */
export function runCli(args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnNode([CLI, ...args]);
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
