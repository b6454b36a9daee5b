// The L402 routes (bLIP-26, as Lightning Labs' aperture): GET /l402/stream (Server-Sent Events) and
// GET /l402/snapshot (the day's last row per sym), ?table=t&syms=A,B (syms absent: every sym).
//   free table          → served at once
//   priced, no token    → 402, WWW-Authenticate: L402 macaroon="<base64>", invoice="<bolt11>", priced,
//                         booked and capped as .u.sub (the paywall's mintFor)
//   Authorization: L402 <base64 macaroon>:<hex preimage>
//   (or Grpc-Metadata-Macaroon / Macaroon: <hex macaroon> with a preimage= caveat, as aperture takes it)
//                       → served when the macaroon is ours, sha256(preimage) is its payment hash, the
//                         caveats cover the request, and that hash is a settled invoice of ours that
//                         bought it; a stream until the token's expiry, one stream per payment (409).
// -u applies here too: without --l402-public these routes are refused under -u (403 l402_off); with it,
// a paid token is the credential for what it bought and a free table still needs -u's Basic credentials.
// Errors are JSON {"code","message"} from the catalogue (HTTP_ERRORS); tokens and preimages are never
// logged.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { unixMs } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import { HTTP_ERRORS, Q } from '../errors.js';
import type { HttpError } from '../errors.js';
import { challenge, check, issue, presentedToken } from '../l402/token.js';
import { L402_USER } from '../payments/index.js';
import type { LedgerEntry, Paywall } from '../payments/index.js';
import type { SubscriberRegistry, SymFilter, Tickerplant } from '../tick/index.js';
import { parsePositionId, positionId, publishedPosition } from './journal-rows.js';
import { isSymName } from '../ws/index.js';
import { LastRows } from './snapshot.js';
import { SseStream } from './sse.js';
import { requestUrl } from './target.js';

export const L402_STREAM_PATH = '/l402/stream';
export const L402_SNAPSHOT_PATH = '/l402/snapshot';

export interface L402Limits {
  /** Open streams at once; more get 503 too_many_streams. [maxStreams=1000] */
  readonly maxStreams: number;
  /** Syms in one request. [maxSyms=256] */
  readonly maxSyms: number;
  /** Bytes queued for one stream before it is dropped as a slow consumer. [maxQueuedBytes=8 MiB] */
  readonly maxQueuedBytes: number;
  /** Comment lines every this many ms keep idle streams alive through proxies; 0 = off. [keepAliveMs=15000] */
  readonly keepAliveMs: number;
}

export const DEFAULT_L402_LIMITS: L402Limits = { maxStreams: 1000, maxSyms: 256, maxQueuedBytes: 8 * 1024 * 1024, keepAliveMs: 15_000 };
const MAX_NAME_LENGTH = 64;

export interface L402Options {
  readonly tp: Tickerplant;
  readonly registry: SubscriberRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  /** Absent: payments are off and every table is free. */
  readonly paywall?: Paywall | undefined;
  /** The macaroons' root key (l402-root.key in the data directory); with a paywall and none, the routes are off. */
  readonly rootKey?: Buffer | undefined;
  /** -u's users; with them the routes need `public` (--l402-public). */
  readonly authenticator?: { check(user: string, password: string): boolean } | undefined;
  /** --l402-public: under -u, a paid L402 token is a credential for what it bought. [false] */
  readonly public?: boolean | undefined;
  /** -u's Basic credentials of a request (the HTTP server's parser). */
  readonly credentials: (req: IncomingMessage) => { user: string; password: string } | undefined;
  readonly limits?: Partial<L402Limits> | undefined;
  /** A stream was dropped for letting too much queue. */
  readonly onSlowConsumer?: (() => void) | undefined;
}

interface Request { readonly table: string; readonly syms: readonly string[] | null; readonly filter: SymFilter }

/** A refusal: the catalogue entry, a line for the log (never a token), extra headers and body fields. */
class Refusal {
  constructor(readonly error: HttpError, readonly reason: string, readonly headers: Record<string, string | string[]> = {},
    readonly body: Record<string, string | number> = {}) {}
}

/** A stream taking over a payment replays what the old one was sent (its last TAKEOVER_REPLAY_ROWS rows) at most this often. */
const TAKEOVER_REPLAY_EVERY_MS = 60_000;

export class L402Routes {
  private readonly log: Logger;
  private readonly limits: L402Limits;
  private readonly streams = new Set<SseStream>();
  private readonly expiries = new Map<SseStream, Timer>();
  private readonly lastRows: LastRows;
  private readonly keepAlive: Timer | undefined;
  private readonly enabled: boolean;

  constructor(private readonly o: L402Options) {
    this.log = o.log;
    this.limits = { ...DEFAULT_L402_LIMITS, ...o.limits };
    this.lastRows = new LastRows(o.tp);
    // Priced tables need the key that signs the macaroons: without it (a bare startHttp) the routes are off.
    this.enabled = o.paywall === undefined || o.rootKey !== undefined;
    if (this.limits.keepAliveMs > 0) this.keepAlive = o.clock.every(this.limits.keepAliveMs, () => { for (const s of this.streams) s.keepAlive(); });
  }

  /** Open streams. */
  get size(): number { return this.streams.size; }

  /** Every path under /l402/: the two routes, and a JSON not_found for the rest (a client of them reads codes). */
  handles(path: string): boolean { return this.enabled && path.startsWith('/l402/'); }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = path === L402_STREAM_PATH ? 'stream' : 'snapshot';
    try {
      if (path !== L402_STREAM_PATH && path !== L402_SNAPSHOT_PATH) throw new Refusal(HTTP_ERRORS.notFound, 'no such route');
      if (req.method !== 'GET') throw new Refusal(HTTP_ERRORS.method, 'not GET', { allow: 'GET' });
      // Before the request is read: under -u a stranger must not learn which tables exist.
      if (this.o.authenticator && !this.o.public) throw new Refusal(HTTP_ERRORS.l402Off, 'under -u without --l402-public');
      const r = this.readRequest(req);
      // Before an invoice is minted: a snapshot this tickerplant cannot serve is not sold.
      if (route === 'snapshot' && this.o.tp.logFile === undefined) throw new Refusal(HTTP_ERRORS.noJournal, 'no journal');
      const paid = await this.authorize(req, r);
      if (route === 'snapshot') await this.snapshot(res, r);
      else await this.stream(req, res, r, paid);
    } catch (err) {
      if (!(err instanceof Refusal)) {
        this.log.error({ route, err: err instanceof Error ? err.message : String(err) }, 'l402 request failed');
        err = new Refusal(HTTP_ERRORS.internal, 'internal');
      }
      const f = err as Refusal;
      this.log.info({ route, code: f.error.code, reason: f.reason, peer: req.socket.remoteAddress ?? null }, 'l402 request refused');
      if (res.headersSent) { res.destroy(); return; }
      sendJson(res, f.error.status, { code: f.error.code, message: f.error.message, ...f.body }, f.headers);
    }
  }

  private readRequest(req: IncomingMessage): Request {
    const q = requestUrl(req)?.searchParams;
    if (q === undefined) throw new Refusal(HTTP_ERRORS.badRequest, 'bad target');
    const table = q.get('table');
    if (table === null || table === '' || table.length > MAX_NAME_LENGTH) throw new Refusal(HTTP_ERRORS.badRequest, 'no table');
    if (!this.o.tp.tables.has(table)) throw new Refusal(HTTP_ERRORS.noSuchTable, 'unknown table');
    const raw = q.get('syms');
    if (raw === null) return { table, syms: null, filter: null };
    const list = raw.split(',');
    if (list.length > this.limits.maxSyms) throw new Refusal(HTTP_ERRORS.badRequest, 'too many syms');
    if (!list.every(isSymName)) throw new Refusal(HTTP_ERRORS.badRequest, 'bad sym');
    const syms = [...new Set(list)];
    return { table, syms, filter: new Set(syms) };
  }

  /** -u, then payment: undefined for a free table, else the settled purchase and the token's end (ms). */
  private async authorize(req: IncomingMessage, r: Request): Promise<{ hash: string; until: number } | undefined> {
    const { paywall, authenticator } = this.o;
    const priced = paywall !== undefined && paywall.price(r.table, r.filter) > 0;
    if (!priced) {
      if (authenticator) {
        const c = this.o.credentials(req);
        if (!c || !authenticator.check(c.user, c.password)) {
          throw new Refusal(HTTP_ERRORS.access, `free table under -u: ${c ? `user ${c.user} refused` : 'no credentials'}`,
            { 'www-authenticate': 'Basic realm="tickerplant", charset="UTF-8"' });
        }
      }
      return undefined;
    }
    const pw = paywall as Paywall;
    const presented = presentedToken(req.headers);
    if (presented === 'none') throw await this.challenge(req, r, pw);
    // A token that cannot buy this request (unreadable, not ours, another table, expired) is answered as
    // bLIP-26 asks: a 402 with a fresh challenge, so a client pays again (lnget does so only on a 402);
    // the body's code says what was wrong with the one presented.
    if (!presented) throw await this.challenge(req, r, pw, { error: HTTP_ERRORS.badToken, reason: 'unreadable token' });
    const nowMs = unixMs(this.o.clock);
    const verdict = check(this.o.rootKey as Buffer, presented, r.table, r.syms, Math.floor(nowMs / 1000));
    if (!verdict.ok) {
      throw await this.challenge(req, r, pw, { error: verdict.reason === 'expired' ? HTTP_ERRORS.expired : HTTP_ERRORS.badToken, reason: verdict.reason });
    }
    const bought = await pw.purchase(verdict.paymentHash);
    if (bought === 'unreachable') throw new Refusal(HTTP_ERRORS.lightningUnavailable, 'settlement not looked up', { 'retry-after': '5' });
    if (!bought) throw new Refusal(HTTP_ERRORS.unpaid, 'invoice not settled');
    if (!covers(bought, r)) throw await this.challenge(req, r, pw, { error: HTTP_ERRORS.badToken, reason: 'the invoice did not buy this' });
    const until = Math.min(verdict.grant.expires * 1000, bought.until === null ? Infinity : Date.parse(bought.until));
    if (until <= nowMs) throw await this.challenge(req, r, pw, { error: HTTP_ERRORS.expired, reason: 'paid period over' });
    return { hash: verdict.paymentHash, until };
  }

  /**
   * The 402: an invoice booked for this request and a macaroon bound to its payment hash. `refused`: the
   * token presented, and why it buys nothing (bad_token or expired, both 402: the body's code).
   */
  private async challenge(req: IncomingMessage, r: Request, paywall: Paywall,
    refused?: { readonly error: HttpError; readonly reason: string }): Promise<Refusal> {
    const offer = await paywall.mintFor(r.table, r.filter, { user: L402_USER, peer: req.socket.remoteAddress ?? '' });
    if (offer.kind === 'refused') {
      const error = offer.error === Q.pending ? HTTP_ERRORS.pending : HTTP_ERRORS.lightningUnavailable;
      return new Refusal(error, offer.reason);
    }
    if (offer.kind === 'free') return new Refusal(HTTP_ERRORS.internal, 'the price changed to free'); // priced a moment ago
    const { invoice } = offer;
    const macaroon = issue(this.o.rootKey as Buffer, Buffer.from(invoice.hash, 'hex'), randomBytes(32),
      { table: r.table, syms: r.syms, expires: Math.floor(offer.until / 1000) });
    return new Refusal(refused?.error ?? HTTP_ERRORS.paymentRequired, refused ? `${refused.reason}; invoice issued` : 'invoice issued', { 'www-authenticate': challenge(macaroon, invoice.paymentRequest) }, {
      invoice: invoice.paymentRequest, amount_sat: invoice.amountSat, expires_at: new Date(invoice.expiresAt).toISOString(),
      token_expires_at: new Date(offer.until).toISOString(),
    });
  }

  private async snapshot(res: ServerResponse, r: Request): Promise<void> {
    const s = await this.lastRows.read(r.table, r.filter);
    sendJson(res, 200, { table: s.table, id: s.id, data: s.data });
  }

  private async stream(req: IncomingMessage, res: ServerResponse, r: Request, paid: { hash: string; until: number } | undefined): Promise<void> {
    let resumeFrom = this.resumePosition(req.headers['last-event-id']);
    if (this.streams.size >= this.limits.maxStreams) throw new Refusal(HTTP_ERRORS.tooMany, `at most ${this.limits.maxStreams} streams`);
    const { registry, tp, paywall } = this.o;
    const s: SseStream = new SseStream({
      handle: registry.localHandle(), res, tp, table: r.table, filter: r.filter, log: this.log, maxQueuedBytes: this.limits.maxQueuedBytes,
      onClose: (x) => this.ended(x), onSlowConsumer: this.o.onSlowConsumer,
    });
    registry.add(s);
    let skipped: Record<string, string> | undefined;
    const holder = paid ? (paywall as Paywall).holderOf(paid.hash) : undefined;
    const old = holder === undefined ? undefined : [...this.streams].find((x) => x.handle === holder);
    if (paid && old) {
      // Held by another L402 stream: this one takes over and the old one ends (event: replaced). A buyer
      // whose network changed reconnects at once, while the dead stream's socket may linger for minutes.
      // What the old stream was sent is replayed once a minute at most, and only its last
      // TAKEOVER_REPLAY_ROWS rows (the ones a dropped connection lost); otherwise the new stream resumes where
      // the old one had got to: two holders of one token taking it from each other share one stream.
      const nowMs = unixMs(this.o.clock);
      const replay = old.replayedTakeoverAt === undefined || nowMs - old.replayedTakeoverAt >= TAKEOVER_REPLAY_EVERY_MS;
      const floor = replay ? old.recentFrom() : old.offeredUpTo();
      s.replayedTakeoverAt = replay ? nowMs : old.replayedTakeoverAt;
      old.finish('replaced', { type: 'replaced', code: HTTP_ERRORS.inUse.code }); // its end frees the payment
      if (floor !== undefined && resumeFrom !== undefined && resumeFrom < floor) {
        skipped = { type: 'skipped', from: positionId(tp.d, resumeFrom), to: positionId(tp.d, floor), code: 'taken_over' };
        resumeFrom = floor;
      }
      this.log.info({ h: s.handle, replaced: old.handle }, 'l402 stream took over a payment from an older stream');
    }
    // Held by a q or WebSocket subscriber (.u.subPaid with the preimage): in use.
    if (paid && !(paywall as Paywall).hold(paid.hash, s)) {
      registry.remove(s.handle);
      throw new Refusal(HTTP_ERRORS.inUse, 'payment held by another subscriber');
    }
    req.socket.setKeepAlive(true, 10_000); // an idle peer gone without a FIN is found, and its payment freed
    this.streams.add(s);
    if (paid) {
      this.expiries.set(s, this.o.clock.after(Math.max(0, paid.until - unixMs(this.o.clock)), () => {
        s.finish('expired', { type: 'expired', code: HTTP_ERRORS.expired.code });
      }));
    }
    this.log.info({ h: s.handle, table: r.table, syms: r.syms?.length ?? null, paid: paid !== undefined, resume: resumeFrom ?? null,
      peer: req.socket.remoteAddress ?? null }, 'sse stream started');
    await s.start(resumeFrom, skipped);
  }

  /** Last-Event-ID → today's position to resume from; an id of an earlier day resumes today from 0. */
  private resumePosition(header: string | string[] | undefined): number | undefined {
    if (header === undefined || this.o.tp.logFile === undefined) return undefined; // no journal: ids are never sent
    const id = parsePositionId(Array.isArray(header) ? header[0] ?? '' : header);
    const { tp } = this.o;
    if (!id || id.day > tp.d || (id.day === tp.d && id.position > publishedPosition(tp))) {
      throw new Refusal(HTTP_ERRORS.badLastEventId, 'unknown Last-Event-ID');
    }
    return id.day < tp.d ? 0 : id.position;
  }

  private ended(s: SseStream): void {
    this.streams.delete(s);
    this.expiries.get(s)?.cancel();
    this.expiries.delete(s);
    this.o.registry.remove(s.handle);
    this.o.tp.disconnect(s.handle);
    this.o.paywall?.disconnect(s.handle);
  }

  /** Ends every stream with a last event (the server is stopping). */
  close(): void {
    this.keepAlive?.cancel();
    for (const s of [...this.streams]) s.finish('shutdown', { type: 'shutdown', code: 'shutdown' });
  }
}

/** Whether the ledger's entry bought this (table; syms): the invoice, not only the token, must say so. */
function covers(e: LedgerEntry, r: Request): boolean {
  return e.requests.some((b) => b.table === r.table &&
    (b.syms === null || (r.syms !== null && r.syms.every((s) => (b.syms as readonly string[]).includes(s)))));
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}
