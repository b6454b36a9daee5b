// Scenario 6: injections over q IPC (system, \\, value, .z.pw, assignments, huge/nested), wrong passwords
// and oversized handshakes at a tickerplant with --users and lnd, logging at debug; then its output is
// searched for the macaroon, the password and every preimage used. Spec: kdb-ipc-and-tick.md §1.3, §8.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { QConnection } from '../src/client/index.js';
import { decodeMessage, encodeMessage, list, MsgType, str, sym } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { FAKE_LND_CERT_PATH, startFakeLnd } from '../test/helpers/fake-lnd.js';
import { sleep, waitUntil } from './env.js';
import { journalFiles } from './crash.js';
import { TpProcess } from './tp.js';
import { FrameSplitter, handshake, syncText } from './wire.js';

export interface SecurityOptions {
  /** Invoices paid (their preimages then used with .u.subPaid and searched for in the logs). */
  readonly payments: number;
  readonly progress?: (line: string) => void;
}

export interface SecurityResult {
  readonly injections: number;
  /** Injections answered with a value instead of an error (must be 0). */
  readonly evaluated: number;
  readonly refusedWithError: number;
  readonly closedConnection: number;
  readonly markerCreated: boolean;
  readonly stateChanged: string[];
  readonly handshakes: number;
  /** Wrong or oversized handshakes that were accepted (must be 0). */
  readonly accepted: number;
  readonly controlsAccepted: number;
  readonly controls: number;
  readonly preimages: number;
  readonly proofsAccepted: number;
  readonly logLines: number;
  /** Secret strings found in the tickerplant's output (must be 0). */
  readonly secretHits: number;
  readonly hitKinds: string[];
  readonly failures: string[];
}

/** The injection texts: each would change something or run something if it were evaluated. */
export function injectionTexts(marker: string): string[] {
  const touch = `touch ${marker}`;
  const q = (s: string): string => JSON.stringify(s); // a q string literal with escapes
  return [
    `system${q(touch)}`, `system ${q(touch)}`, `\\${touch}`, '\\\\', '\\\\ ', `\\l ${marker}`, `\\cd /tmp`,
    `value${q(`system${q(touch)}`)}`, `value ${q('.u.i')}`, `.z.pw:{1b}`, `.z.pw::{[u;p]1b}`, `.z.pg:{system${q(touch)}}`,
    `.z.ps:{value x}`, `.z.po:{system${q(touch)}}`, '.u.w:()', '.u.w::()', '.u.i:0', '.u.i+:1', '.u.j:0', 'a:1', '.u.t:`x',
    `.u.sub:{system${q(touch)}}`, `.u.upd:{system${q(touch)}}`, `@[system;${q(touch)}]`, `.q.system${q(touch)}`,
    `{system${q(touch)}}[]`, `(system;${q(touch)})`, `system[${q(touch)}]`, 'hopen 5010', 'exit 0', 'exit[0]',
    `\\ts system${q(touch)}`, 'key`:/', 'get`:/etc/passwd', `eval parse${q(`system${q(touch)}`)}`, `reval${q('.u.i')}`,
    `-11!\`:${marker}`, `\`:${marker} 0: enlist"x"`, `\`:${marker} set 1`, `hsym\`${marker}`, `.Q.hdpf[\`:.;\`:.;.z.d;\`sym]`,
    `.u.sub[\`trade;\`IBM];system${q(touch)}`, `.u.i;system${q(touch)}`, `.u.sub[\`;\`];.u.w:()`,
    `system"touch\u0000${marker}"`, `system${q(touch)} / comment`, `/ \n system${q(touch)}`, `"\\" system${q(touch)}`,
    `.u.sub[\`;\`];"${'x'.repeat(4 << 20)}"`, '('.repeat(100_000) + '.u.i' + ')'.repeat(100_000), '.u.sub['.repeat(50_000),
    `${'count '.repeat(20_000)}1`, `${'.u.i,'.repeat(20_000)}1`, 'set[`.u.w;()]', '`.u.w set ()', '.u.i set 0',
    `.u.end[.z.d]`, '.u.endofday[]', '.u.ld[.z.d]', '.u.tick[`sym;`:.]', '.z.exit:{}', '.z.pc:{}', `.z.ts:{system${q(touch)}}`,
  ];
}

/** The same intentions as (f;args) lists: q calls the named function with the arguments. */
export function injectionLists(marker: string): Buffer[] {
  const touch = `touch ${marker}`;
  const calls: QValue[] = [
    list(sym('system'), str(touch)), list(str('system'), str(touch)), list(sym('value'), str(`system"${touch}"`)),
    list(sym('.z.pw'), sym('u'), str('p')), list(sym('set'), sym('.u.w'), list()), list(sym('.q.system'), str(touch)),
    list(sym('.u.upd'), sym('trade'), str(`system"${touch}"`)), list(sym('eval'), list(sym('system'), str(touch))),
    list(sym('hopen'), sym(':127.0.0.1:1')), list(sym('exit'), sym('0')), list(sym('.u.end'), sym('x')),
    list(sym('.u.sub'), sym('trade'), str(`system"${touch}"`)), list(sym('@'), sym('system'), str(touch)),
  ];
  const out: Buffer[] = [];
  for (const c of calls) {
    out.push(encodeMessage(c, MsgType.Sync));
    out.push(encodeMessage(c, MsgType.Async));
  }
  // A 1000-deep nested list, and a message claiming a length far over the limit.
  const deep = Buffer.concat([...Array.from({ length: 1000 }, () => Buffer.from([0, 0, 1, 0, 0, 0])), Buffer.from([0xf9, 1, 0, 0, 0, 0, 0, 0, 0])]);
  const header = Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(deep.length + 8, 4);
  out.push(Buffer.concat([header, deep]));
  const huge = Buffer.from([1, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0]);
  huge.writeUInt32LE(0xfffffff0, 4);
  out.push(huge);
  return out;
}

/** A raw authenticated connection that sends one message and waits for its answer (or the close). */
class Raw {
  private readonly splitter = new FrameSplitter();
  private waiting: ((r: QValue | 'closed') => void) | undefined;
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => this.splitter.push(c, (f) => {
      const w = this.waiting; this.waiting = undefined;
      w?.(decodeMessage(f, { maxMessageBytes: 1 << 30, maxDepth: 64 }).value);
    }));
    socket.on('error', () => undefined);
    socket.on('close', () => { this.closed = true; const w = this.waiting; this.waiting = undefined; w?.('closed'); });
  }
  static async connect(port: number, credentials: string): Promise<Raw> {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    socket.write(handshake(credentials));
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('data', (b: Buffer) => resolve(b.length === 1));
      socket.once('close', () => resolve(false));
    });
    if (!ok) throw new Error('access');
    return new Raw(socket);
  }
  /** The answer to a sync message; 'closed' if the server hung up; undefined for async (after a chaser). */
  send(msg: Buffer): Promise<QValue | 'closed'> {
    return new Promise((resolve) => {
      if (this.closed) { resolve('closed'); return; }
      if (msg[1] === MsgType.Async) {
        this.socket.write(msg);
        this.waiting = () => resolve({ type: 101, index: 0 } as QValue);
        this.socket.write(syncText(''));
        return;
      }
      this.waiting = resolve;
      this.socket.write(msg);
    });
  }
  close(): void { this.socket.destroy(); }
}

/** Sends a handshake; true when the server answered with a capability byte. */
async function tryHandshake(port: number, bytes: Buffer, timeoutMs = 3000): Promise<boolean> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => { socket.once('connect', () => resolve()); socket.once('error', () => resolve()); });
  return new Promise((resolve) => {
    const timer = setTimeout(() => { socket.destroy(); resolve(false); }, timeoutMs);
    socket.once('data', (b: Buffer) => { clearTimeout(timer); socket.destroy(); resolve(b.length >= 1); });
    socket.once('close', () => { clearTimeout(timer); resolve(false); });
    socket.write(bytes);
  });
}

/** Wrong credentials for `user:password`, and oversized handshakes (some with the right password). */
export function hostileHandshakes(user: string, password: string, md5User: string, md5Password: string): Array<{ what: string; bytes: Buffer }> {
  const hs = (c: string, cap = 3): Buffer => handshake(c, cap);
  const md5 = createHash('md5').update(md5Password).digest('hex');
  return [
    { what: 'wrong password', bytes: hs(`${user}:wrong`) },
    { what: 'empty password', bytes: hs(`${user}:`) },
    { what: 'user only', bytes: hs(user) },
    { what: 'no credentials', bytes: hs('') },
    { what: 'unknown user with the right password', bytes: hs(`nobody:${password}`) },
    { what: 'password plus a suffix', bytes: hs(`${user}:${password}x`) },
    { what: 'password minus its last character', bytes: hs(`${user}:${password.slice(0, -1)}`) },
    { what: 'password in upper case', bytes: hs(`${user}:${password.toUpperCase()}`) },
    { what: 'password with a trailing CR', bytes: hs(`${user}:${password}\r`) },
    // (credentials NUL without a capability byte is an old client's valid handshake: the NUL ends it)
    { what: 'wrong password, NUL, then the right credentials', bytes: Buffer.concat([Buffer.from(`${user}:wrong`), Buffer.from([0]), hs(`${user}:${password}`)]) },
    { what: 'wrong password then the right one after a NUL in one field', bytes: Buffer.concat([Buffer.from(`${user}:x`), Buffer.from([0]), Buffer.from(password), Buffer.from([3, 0])]) },
    { what: 'user in upper case', bytes: hs(`${user.toUpperCase()}:${password}`) },
    { what: 'extra colon field', bytes: hs(`${user}:${password}:${password}`) },
    { what: 'space-padded user', bytes: hs(` ${user}:${password}`) },
    { what: 'the md5 hash itself as the password', bytes: hs(`${md5User}:${md5}`) },
    { what: 'md5 user, wrong password', bytes: hs(`${md5User}:${md5Password}!`) },
    { what: 'capability 255 with a wrong password', bytes: hs(`${user}:nope`, 255) },
    { what: '1025-byte handshake with the right password', bytes: hs(`${user}:${password}` + ' '.repeat(1025)) },
    { what: '2 KiB handshake with the right password first', bytes: Buffer.concat([Buffer.from(`${user}:${password}`), Buffer.alloc(2048, 0x41), Buffer.from([3, 0])]) },
    { what: '1 MiB handshake', bytes: hs(`${user}:` + 'p'.repeat(1 << 20)) },
    { what: '64 KiB without NUL', bytes: Buffer.alloc(64 * 1024, 0x61) },
    { what: 'NUL only', bytes: Buffer.from([0]) },
  ];
}

export async function runSecurityScenario(o: SecurityOptions): Promise<SecurityResult> {
  const progress = o.progress ?? (() => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-sec-'));
  const marker = path.join(dir, 'pwned');
  const user = 'soak';
  const password = randomBytes(18).toString('base64url');
  const md5User = 'hashed';
  const md5Password = randomBytes(12).toString('base64url');
  const usersFile = path.join(dir, 'users.txt');
  writeFileSync(usersFile, `${user}:${password}\n${md5User}:${createHash('md5').update(md5Password).digest('hex')}\n`);
  const fake = await startFakeLnd();
  const macaroonFile = path.join(dir, 'invoice.macaroon');
  writeFileSync(macaroonFile, fake.macaroon);
  const tp = await TpProcess.start({
    dst: dir, logLevel: 'debug', keepOutput: true,
    args: ['--users', usersFile, '--handshake-timeout', '1000', '--lnd', fake.host, '--lnd-tlscert', FAKE_LND_CERT_PATH,
      '--lnd-macaroon', macaroonFile, '--data-dir', dir],
  });
  const failures: string[] = [];
  const creds = `${user}:${password}`;
  try {
    await fake.streamsOpen(1);
    // Paid subscriptions: their preimages travel through lnd's stream into the tickerplant.
    const preimages: Buffer[] = [];
    const paidConns: QConnection[] = [];
    for (let i = 0; i < o.payments; i++) {
      const c = await QConnection.connect({ port: tp.port, user, password });
      paidConns.push(c);
      let reply: QValue | undefined;
      for (let a = 0; a < 50 && !reply; a++) {
        reply = await c.sync(str(`.u.sub[\`trade;\`PAID${i}]`)).catch(async () => { await sleep(100); return undefined; });
      }
      const inv = reply?.type === 0 ? reply.items[2] : undefined;
      const h = inv?.type === 99 && inv.values.type === 0 ? inv.values.items[0] : undefined;
      if (!h || h.type !== 10) { failures.push(`payment ${i}: no invoice`); continue; }
      preimages.push(fake.settle(Buffer.from(Buffer.from(h.data).toString('latin1'), 'base64')).preimage);
    }
    await waitUntil(() => tp.count('invoice settled') >= preimages.length, 10_000);
    // Proof of payment from fresh connections, once with the preimage in hex and once in base64. One
    // payment holds one stream: the payer leaves first, and each claimer waits ('in use) until the
    // previous holder's close has reached the tickerplant.
    for (const c of paidConns) c.close();
    let proofsAccepted = 0;
    for (let i = 0; i < preimages.length; i++) {
      const p = preimages[i] as Buffer;
      for (const text of [p.toString('hex'), p.toString('base64')]) {
        const c = await QConnection.connect({ port: tp.port, user, password });
        let r: unknown;
        for (let a = 0; a < 100; a++) {
          r = await c.sync(str(`.u.subPaid[\`trade;\`PAID${i};"${text}"]`)).catch((e: unknown) => e);
          if (!(r instanceof Error && r.message.includes('in use'))) break;
          await sleep(50);
        }
        if (!(r instanceof Error)) proofsAccepted++;
        c.close();
      }
      const c = await QConnection.connect({ port: tp.port, user, password });
      await c.sync(str(`.u.subPaid[\`trade;\`PAID${i};"${randomBytes(32).toString('hex')}"]`)).catch(() => undefined);
      c.close();
    }
    progress(`security: ${preimages.length} invoices paid, ${proofsAccepted} proofs of payment accepted`);

    // State before the injections, as an authenticated observer sees it.
    const observer = await QConnection.connect({ port: tp.port, user, password });
    const snapshot = async (): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      for (const q of ['.u.w', '.u.i', '.u.j', '.u.t', '.u.L', '.u.pendingInvoices']) {
        out[q] = encodeMessage(await observer.sync(str(q)), MsgType.Response).toString('hex');
      }
      out['journal bytes'] = String(journalFiles(dir).map((f) => statSync(f).size).join(','));
      return out;
    };
    const before = await snapshot();

    let injections = 0;
    let evaluated = 0;
    let refusedWithError = 0;
    let closedConnection = 0;
    const evaluatedWhat: string[] = [];
    let raw = await Raw.connect(tp.port, creds);
    const messages: Array<{ what: string; bytes: Buffer }> = [
      ...injectionTexts(marker).flatMap((s) => {
        const sync = syncText(s);
        const asyncMsg = Buffer.from(sync);
        asyncMsg[1] = MsgType.Async;
        return [{ what: s.slice(0, 60), bytes: sync }, { what: `async ${s.slice(0, 54)}`, bytes: asyncMsg }];
      }),
      ...injectionLists(marker).map((b, i) => ({ what: `list #${i}`, bytes: b })),
    ];
    for (const m of messages) {
      injections++;
      const r = await raw.send(m.bytes);
      if (r === 'closed') { closedConnection++; raw = await Raw.connect(tp.port, creds); continue; }
      if (m.bytes[1] === MsgType.Async) { refusedWithError++; continue; } // no answer to judge: side effects decide
      if (r.type === -128) refusedWithError++;
      else { evaluated++; evaluatedWhat.push(m.what); }
    }
    raw.close();
    await sleep(200);
    const after = await snapshot();
    const stateChanged = Object.keys(before).filter((k) => before[k] !== after[k]);
    const markerCreated = existsSync(marker);
    progress(`security: ${injections} injections: ${refusedWithError} refused, ${closedConnection} closed the connection, ${evaluated} evaluated`);

    // Handshakes: every hostile one refused; the right passwords (plain and md5-stored) accepted.
    const hostile = hostileHandshakes(user, password, md5User, md5Password);
    let accepted = 0;
    const acceptedWhat: string[] = [];
    for (const h of hostile) {
      if (await tryHandshake(tp.port, h.bytes)) { accepted++; acceptedWhat.push(h.what); }
    }
    const controls = [handshake(creds), handshake(`${md5User}:${md5Password}`)];
    let controlsAccepted = 0;
    for (const c of controls) if (await tryHandshake(tp.port, c)) controlsAccepted++;
    const handshakes = hostile.length;
    progress(`security: ${handshakes} hostile handshakes, ${accepted} accepted; ${controlsAccepted}/${controls.length} right passwords accepted`);
    observer.close();
    for (const c of paidConns) c.close();
    const alive = tp.alive;
    await tp.stop();

    // Secrets in the output: macaroon (hex, base64), password, preimages (hex, base64).
    const text = tp.output.join('\n');
    const lower = text.toLowerCase();
    const secrets: Array<[string, string]> = [
      ['macaroon hex', fake.macaroon.toString('hex')], ['macaroon base64', fake.macaroon.toString('base64')],
      ['macaroon base64url', fake.macaroon.toString('base64url')], ['password', password], ['md5 user password', md5Password],
      ...preimages.flatMap((p, i): Array<[string, string]> => [[`preimage ${i} hex`, p.toString('hex')], [`preimage ${i} base64`, p.toString('base64')]]),
    ];
    let secretHits = 0;
    const hitKinds: string[] = [];
    for (const [kind, s] of secrets) {
      const hay = kind.endsWith('hex') ? lower : text;
      const needle = kind.endsWith('hex') ? s.toLowerCase() : s;
      let at = hay.indexOf(needle);
      while (at >= 0) { secretHits++; if (!hitKinds.includes(kind)) hitKinds.push(kind); at = hay.indexOf(needle, at + 1); }
    }
    if (evaluated > 0) failures.push(`${evaluated} injections were evaluated: ${evaluatedWhat.slice(0, 5).join(' | ')}`);
    if (markerCreated) failures.push('the marker file was created');
    if (stateChanged.length > 0) failures.push(`state changed: ${stateChanged.join(', ')}`);
    if (accepted > 0) failures.push(`hostile handshakes accepted: ${acceptedWhat.join(', ')}`);
    if (controlsAccepted !== controls.length) failures.push(`${controls.length - controlsAccepted} right passwords were refused`);
    if (proofsAccepted !== preimages.length * 2) failures.push(`${preimages.length * 2 - proofsAccepted} proofs of payment refused`);
    if (secretHits > 0) failures.push(`${secretHits} secrets in the logs: ${hitKinds.join(', ')}`);
    if (!alive) failures.push('the tickerplant exited');
    if (tp.errorLines.length > 0) failures.push(`error-level log lines: ${tp.errorLines[0] ?? ''}`);
    // The search means something only if the lines that would carry secrets were captured.
    if (!text.includes(`"user":"${user}"`)) failures.push('no debug line names the user: is debug logging captured?');
    const hashes = preimages.map((p) => createHash('sha256').update(p).digest('hex'));
    if (!hashes.every((h) => lower.includes(h))) failures.push('a settled payment hash is missing from the logs: are payment lines captured?');
    return {
      injections, evaluated, refusedWithError, closedConnection, markerCreated, stateChanged, handshakes, accepted,
      controlsAccepted, controls: controls.length, preimages: preimages.length, proofsAccepted, logLines: tp.output.length,
      secretHits, hitKinds, failures,
    };
  } finally {
    await tp.stop();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
