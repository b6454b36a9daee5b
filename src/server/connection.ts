// One q client: handshake → frames → handler, sync replies in order, coalesced async sends,
// a bound on queued outbound bytes. Spec: code.kx.com/q/basics/ipc.
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import { clientText, QError } from '../errors.js';
import {
  decodeMessage, encodeMessage, error as qError, Framer, MsgType, Outbound, parseHandshake, replyCapability, shouldCompress,
} from '../ipc/index.js';
import type { OutboundGate, QValue, Region } from '../ipc/index.js';
import { LogRate } from '../log-rate.js';
import type { Authenticator } from './auth.js';
import type { InboundBudget, InboundHolder } from './inbound.js';
import { MIN_PROGRESS_BYTES } from './limits.js';
import type { Limits } from './limits.js';
import type { Transport } from './transport.js';

/**
 * A transport that authenticated its peer itself (a WebSocket upgrade's credentials): no kdb+ handshake,
 * and nothing compressed to it (q does not compress over WebSocket).
 */
export interface Preauthenticated {
  readonly user: string;
  /** The capability the peer is treated as having. */
  readonly capability: number;
}

/** What the layer above does with a connection's traffic (q's .z.po, .z.pg/.z.ps, .z.pc). */
export interface Handler {
  onOpen?(conn: Connection): void;
  /**
   * Result of a sync message is the response; of an async one, ignored. May return a Promise.
   * `body` is the decompressed message when it is little-endian (for byte reuse), else undefined.
   */
  onMessage(conn: Connection, value: QValue, msgType: MsgType, body?: Buffer): QValue | Promise<QValue>;
  /**
   * Offered each uncompressed little-endian frame before it is decoded: a result handles the message
   * (a sync one is answered with it) and it is never decoded; undefined lets it be decoded as usual.
   * The tickerplant's hot path: feeds' (`.u.upd;t;x) validated and published from their bytes.
   */
  onFrame?(conn: Connection, frame: Buffer, msgType: MsgType): QValue | undefined;
  /**
   * Sees each message's bytes (decompressed, header first) before its value is decoded; a QError it
   * throws is the reply (sync) and the message is dropped, never decoded. The connection stays open.
   */
  admit?(conn: Connection, body: Buffer): void;
  onClose?(conn: Connection, reason: CloseReason): void;
  /** Runs before a turn's queued writes leave any connection (e.g. to write the journal first). */
  beforeFlush?(): void;
}

export type CloseReason = 'peer' | 'badmsg' | 'slow' | 'shutdown' | 'handshake' | 'inbound' | 'stalled';

type State = 'handshake' | 'open' | 'closed';

/** A turn's writes to one peer up to this size are copied into one buffer (see copySmall); under Node's
 * pool threshold (4 KiB), so the copy lands in warm, pooled memory. */
const COPY_WRITE_BYTES = 4095;

export class Connection implements InboundHolder {
  /** The integer handle, q's .z.w. */
  readonly handle: number;
  user = '';
  capability = 0;
  /** Loopback, unix socket or WebSocket: q never compresses to these (code.kx.com/q/basics/ipc, compression). */
  readonly local: boolean;
  readonly peer: string;
  log: Logger;
  private state: State = 'handshake';
  private pending: Buffer = Buffer.alloc(0);
  private readonly framer: Framer;
  private readonly queue: Buffer[] = [];
  private busy = false;
  /** Whether this turn's messages are waiting for the end of the turn. */
  private corked = false;
  private out: Buffer[] = [];
  /** Bytes that follow the last queued buffer in its ArrayBuffer and belong to it: adjacent messages join it without a view each. */
  private outTail = 0;
  /** The buffer the last queued message lies in (a region's, or its own) and the offset its bytes end at there. */
  private outBase: Buffer | undefined;
  private outEnd = 0;
  /** Each queued message's journal gate (Outbound.gate): withdrawn ones never leave. */
  private outGates: Array<OutboundGate | undefined> = [];
  private outBytes = 0;
  /** Messages held while the peer is not reading (see writeOut). */
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private waitingDrain = false;
  /** Shared regions (Outbound.region) that bytes queued here lie in, each held once. */
  private held: Region[] = [];
  /** Regions of writes handed to the socket, a list per write, in order: released as each completes. */
  private readonly inflight: Region[][] = [];
  /** Bytes of the regions held (queued here or in flight): counted against maxQueuedBytes. */
  private regionBytes = 0;
  private handshakeTimer: Timer | undefined;
  /** Armed while a message is partly received: the minimum-progress check (Limits.readTimeoutMs). */
  private readTimer: Timer | undefined;
  /** socket.bytesRead and the bytes the frame still lacked when the read timer was armed. */
  private progressMark = 0;
  private missingAtMark = 0;

  constructor(
    readonly socket: Transport,
    handle: number,
    private readonly handler: Handler,
    private readonly auth: Authenticator,
    private readonly limits: Limits,
    log: Logger,
    isUnix: boolean,
    private readonly clock: Clock,
    private readonly inbound?: InboundBudget,
    preauthenticated?: Preauthenticated,
    /** The server's: refused messages are logged once a period, not once each. */
    private readonly logRate: LogRate = new LogRate(clock),
  ) {
    this.handle = handle;
    const addr = socket.remoteAddress ?? '';
    this.local = isUnix || isLoopback(addr) || preauthenticated !== undefined;
    this.peer = isUnix ? 'unix' : `${addr}:${socket.remotePort ?? 0}`;
    this.log = log.child({ h: handle, peer: this.peer });
    this.framer = new Framer({ maxMessageBytes: limits.maxMessageBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => { this.letGo(); this.closed('peer'); });
    // A WebSocket's framing errors (unmasked, too large, text...) are bad input like a bad kdb+ frame.
    socket.violations?.((message, detail) => this.fail('badmsg', message, undefined, detail));
    if (preauthenticated) {
      this.opened(preauthenticated.user, preauthenticated.capability);
      return;
    }
    this.handshakeTimer = clock.after(limits.handshakeTimeoutMs, () => this.fail('handshake', 'handshake timeout'));
  }

  /** After the handshake (or a transport's own authentication): .z.po. */
  private opened(user: string, capability: number): void {
    this.user = user;
    this.capability = capability;
    this.log = this.log.child({ user });
    this.state = 'open';
    try {
      this.handler.onOpen?.(this);
    } catch (err) {
      this.log.error({ err }, 'open hook failed');
    }
  }

  get open(): boolean { return this.state === 'open'; }

  /** Bytes written but not yet accepted by the kernel. */
  get queuedBytes(): number { return this.socket.writableLength + this.backlogBytes; }

  /** Memory held for a message not fully received yet (the inbound budget's view). */
  get heldBytes(): number { return this.state === 'closed' ? 0 : this.framer.heldBytes; }

  /** Bytes received of that message so far. */
  get partialBytes(): number { return this.state === 'closed' ? 0 : this.framer.bufferedBytes; }

  /** Sends an async message (encodes it). */
  sendValue(value: QValue, msgType: MsgType = MsgType.Async): void {
    this.send(new Outbound(encodeMessage(value, msgType)));
  }

  /**
   * Queues an encoded message. Writes made in one event-loop turn leave in one writev
   * (one syscall per small message caps Node near 165k msg/s).
   * A peer that lets more than maxQueuedBytes pile up is dropped.
   */
  send(msg: Outbound): void {
    if (this.state !== 'open') return;
    // Every enqueue is checked, this turn's messages included: replies to many frames that arrived in
    // one read cannot pile up unchecked. Over the limit, the turn's messages are offered to the kernel
    // first (a client that keeps reading takes a burst larger than the limit); only what the kernel does
    // not take counts. Checked before adding, so one message larger than the limit still goes.
    // Shared regions count whole: a stalled peer with a narrow filter holds a region for one message.
    let queued = Math.max(this.queuedBytes + this.outBytes, this.regionBytes);
    if (queued > this.limits.maxQueuedBytes && this.outBytes > 0) {
      this.flushHook();
      this.writeOut();
      queued = Math.max(this.queuedBytes + this.outBytes, this.regionBytes);
    }
    if (queued > this.limits.maxQueuedBytes) {
      this.log.warn({ queued, max: this.limits.maxQueuedBytes }, 'slow consumer dropped');
      this.close('slow');
      return;
    }
    if (!this.corked) {
      this.corked = true;
      uncorkLater(this.uncork);
    }
    // A message in a shared region goes by its offset there (no view of its own), held while queued;
    // so does one that a remote peer gets uncompressed (compress() found no gain).
    // (Where the bytes lie is known from the message: a Buffer's .buffer getter is a slow runtime call.)
    const region = msg.region;
    let bytes: Buffer | undefined;
    let base: Buffer;
    let at: number;
    let length: number;
    if (region !== undefined && (!shouldCompress(msg.length, this.local, this.capability) ||
      (bytes = msg.forPeer(this.local, this.capability)) === msg.plain)) {
      base = region.buf;
      at = msg.at;
      length = msg.length;
      this.hold(region);
    } else {
      bytes ??= msg.forPeer(this.local, this.capability);
      base = bytes;
      at = 0;
      length = bytes.length;
    }
    this.outBytes += length;
    // Messages that lie next to each other in one buffer (the tickerplant cuts a turn's updates from one
    // slab) leave as one piece: one iovec, and one reference while the peer is not reading.
    // (Only under one journal gate: a withdrawn row must stay separable.)
    if (this.out.length > 0 && this.outBase === base && this.outEnd === at &&
      this.outGates[this.outGates.length - 1] === msg.gate) {
      this.outTail += length;
      this.outEnd += length;
      return;
    }
    this.joinTail();
    this.out.push(bytes ?? msg.plain);
    this.outGates.push(msg.gate);
    this.outBase = base;
    this.outEnd = at + length;
  }

  /** Makes the last queued buffer cover the adjacent bytes that joined it. */
  private joinTail(): void {
    if (this.outTail === 0) return;
    const i = this.out.length - 1;
    const last = this.out[i] as Buffer;
    // outEnd is where the joined bytes end in outBase, the buffer `last` was cut from.
    this.out[i] = (this.outBase as Buffer).subarray(this.outEnd - this.outTail - last.length, this.outEnd);
    this.outTail = 0;
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.flushHook();
    this.writeOut();
  };

  /**
   * Hands the turn's messages to the socket as one writev. While the peer is not reading, they wait
   * here instead, as references to the shared message buffers: Node's stream would keep a callback per
   * write, and dropping a stalled peer would then run thousands of them at once (the soak's slow case).
   */
  private writeOut(): void {
    if (this.out.length === 0) return;
    this.joinTail();
    let batch = this.out;
    const gates = this.outGates;
    this.out = [];
    this.outGates = [];
    this.outBase = undefined; // an idle connection keeps no buffer alive
    if (anyWithdrawn(gates)) {
      // Rows whose journal write failed: the write-ahead promise says they are never published.
      batch = batch.filter((b, i) => {
        const g = gates[i];
        if (g === undefined || !g.withdrawn) return true;
        this.outBytes -= b.length;
        return false;
      });
      if (batch.length === 0) { this.releaseIfIdle(); return; }
    }
    // needDrain stays set until the 'drain' event even when the kernel took everything (writableLength 0):
    // then writing on is not a backlog.
    if ((this.socket.writableNeedDrain && this.socket.writableLength > 0) || this.backlog.length > 0) {
      for (const b of batch) this.backlog.push(b);
      this.backlogBytes += this.outBytes;
      this.outBytes = 0;
      if (!this.waitingDrain) {
        this.waitingDrain = true;
        this.socket.once('drain', this.onDrain);
      }
      return;
    }
    this.outBytes = 0;
    this.writeAll(batch);
  }

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    const backlog = this.backlog;
    this.backlog = [];
    this.backlogBytes = 0;
    if (this.state !== 'closed') this.writeAll(backlog);
  };

  private hold(region: Region): void {
    const held = this.held;
    if (held[held.length - 1] === region || held.includes(region)) return;
    region.hold();
    held.push(region);
    this.regionBytes += region.buf.length;
  }

  private writeAll(chunks: Buffer[]): void {
    if (this.socket.destroyed || chunks.length === 0) return;
    const last = chunks.length - 1;
    // Whether this write carries every byte of the held regions (nothing else is queued here).
    const carriesHeld = this.held.length > 0 && this.out.length === 0 && this.backlog.length === 0;
    // Worth copying: pieces that would need a writev, or a piece whose regions could then go at once.
    if ((carriesHeld || (last > 0 && this.held.length === 0)) && this.copySmall(chunks, carriesHeld)) return;
    const join = last > 0; // a lone buffer needs no cork: nothing to join
    if (join) this.socket.cork();
    for (let i = 0; i < last; i++) this.socket.write(chunks[i] as Buffer);
    if (carriesHeld) {
      // Nothing of the held regions is queued here any more: the socket lets go of them when this
      // write completes (Node completes a socket's writes in order).
      this.inflight.push(this.held);
      this.held = [];
      this.socket.write(chunks[last] as Buffer, this.written);
    } else {
      this.socket.write(chunks[last] as Buffer);
    }
    if (join) this.socket.uncork();
  }

  /**
   * A few small pieces (a filtered subscriber's rows of a turn lie apart in the slab, between other
   * subscribers' messages) are copied into one pooled buffer and written alone: no cork and writev, no
   * completion callback, and the regions are let go at once. Node's writev path was ~40% of the TP's CPU
   * in bench:tick's fan-out; copying up to COPY_WRITE_BYTES costs less. False: too large, not copied.
   */
  private copySmall(chunks: Buffer[], carriesHeld: boolean): boolean {
    // Earlier bytes still in the socket's queue may lie in a held region (a write handed over without its
    // holds): then the regions go with this write's callback, after those, as on the plain path.
    if (carriesHeld && this.socket.writableLength > 0) return false;
    let total = 0;
    for (let i = 0; i < chunks.length; i++) total += (chunks[i] as Buffer).length;
    if (total > COPY_WRITE_BYTES) return false;
    const one = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i] as Buffer;
      one.set(c, at); // a whole typed array: one memcpy
      at += c.length;
    }
    if (carriesHeld) this.releaseHeld();
    this.socket.write(one);
    return true;
  }

  private readonly written = (): void => {
    const regions = this.inflight.shift();
    if (regions) this.release(regions);
  };

  private release(regions: readonly Region[]): void {
    for (const r of regions) {
      this.regionBytes -= r.buf.length;
      r.release();
    }
  }

  /** Lets go of the held regions when nothing of them is queued here or in the socket (e.g. all withdrawn). */
  private releaseIfIdle(): void {
    if (this.held.length === 0 || this.out.length > 0 || this.backlog.length > 0 || this.socket.writableLength > 0) return;
    this.releaseHeld();
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    this.release(held);
  }

  /** The transport has closed: it holds no bytes, so neither does this connection. */
  private letGo(): void {
    this.releaseHeld();
    for (const rs of this.inflight.splice(0)) this.release(rs);
  }

  private flushHook(): void {
    try {
      this.handler.beforeFlush?.();
    } catch (err) {
      this.log.error({ err }, 'flush hook failed');
    }
  }

  close(reason: CloseReason = 'shutdown'): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.handshakeTimer?.cancel();
    this.readTimer?.cancel();
    this.readTimer = undefined;
    this.inbound?.release(this);
    if (reason === 'shutdown' || reason === 'badmsg') {
      // Let replies already queued (e.g. to requests before a bad frame, as q sends them) drain,
      // but never wait on a peer that does not close its side.
      if (this.corked) { this.corked = false; this.flushHook(); this.writeOut(); }
      // What waits here for a 'drain' goes to the socket now: an ending stream emits no 'drain'.
      if (this.backlog.length > 0) {
        const backlog = this.backlog;
        this.backlog = [];
        this.backlogBytes = 0;
        this.writeAll(backlog);
      }
      this.socket.end();
      this.clock.after(1000, () => this.socket.destroy()).unref();
    } else {
      this.socket.destroy(reason === 'slow' ? new Error('slow consumer') : undefined); // one error for all queued writes: without it Node builds one per write (a stall of ~70 ms per 8 MiB backlog)
      this.out = [];
      this.outTail = 0;
      this.outBase = undefined;
      this.outGates = [];
      this.outBytes = 0;
      this.backlog = [];
      this.backlogBytes = 0;
    }
    if (wasOpen) this.handler.onClose?.(this, reason);
  }

  private closed(reason: CloseReason): void {
    // Hanging up inside a message is a truncated message: logged once, like any other bad frame.
    if (this.state === 'open' && this.framer.bufferedBytes > 0) {
      this.log.warn({ buffered: this.framer.bufferedBytes }, 'peer closed mid-message');
    }
    this.close(reason);
  }

  private fail(reason: CloseReason, message: string, err?: unknown, detail?: Record<string, number>): void {
    if (this.state === 'closed') return;
    this.log.warn({ reason, err: err instanceof Error ? err.message : undefined, ...detail }, message);
    this.close(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      chunk = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      let hs;
      try {
        hs = parseHandshake(chunk, this.limits.maxHandshakeBytes);
      } catch (err) {
        this.fail('handshake', 'handshake rejected', err);
        return;
      }
      if (!hs) { this.pending = chunk; return; }
      this.pending = Buffer.alloc(0);
      this.handshakeTimer?.cancel();
      if (!this.auth.check(hs.user, hs.password)) {
        // q closes without sending a byte; the client reports 'access.
        this.log.warn({ user: hs.user }, 'access denied');
        this.state = 'closed';
        this.socket.destroy();
        return;
      }
      // Written alone: node-q requires the reply byte to be its whole first read.
      this.socket.write(Buffer.from([replyCapability(hs.capability)]));
      this.opened(hs.user, replyCapability(hs.capability));
      chunk = chunk.subarray(hs.consumed);
      if (chunk.length === 0) return;
    }
    try {
      this.framer.push(chunk, this.onFrame);
    } catch (err) {
      this.fail('badmsg', 'bad frame', err);
      return;
    }
    if (this.state !== 'open') return;
    this.inbound?.update(this);
    if (this.framer.missingBytes > 0) {
      if (!this.readTimer) this.armReadTimer();
    } else if (this.readTimer) {
      this.readTimer.cancel();
      this.readTimer = undefined;
    }
  }

  /** The inbound budget is exhausted and this connection holds the most of it. */
  dropForInbound(total: number, max: number): void {
    this.fail('inbound', 'inbound budget exceeded', undefined,
      { received: this.framer.bufferedBytes, held: this.framer.heldBytes, total, max });
  }

  /**
   * Minimum progress for a started message: in each readTimeoutMs it must gain MIN_PROGRESS_BYTES or
   * the rest of it. One timer per period, not per chunk: a trickling sender costs nothing extra.
   */
  private armReadTimer(): void {
    this.progressMark = this.socket.bytesRead;
    this.missingAtMark = this.framer.missingBytes;
    this.readTimer = this.clock.after(this.limits.readTimeoutMs, () => {
      this.readTimer = undefined;
      if (this.state !== 'open' || this.framer.missingBytes === 0) return;
      const gained = this.socket.bytesRead - this.progressMark;
      if (gained < Math.min(MIN_PROGRESS_BYTES, this.missingAtMark)) {
        this.fail('stalled', 'message stalled', undefined, { gained, missing: this.framer.missingBytes, ms: this.limits.readTimeoutMs });
        return;
      }
      this.armReadTimer();
    });
  }

  private readonly admitBody = (body: Buffer): void => this.handler.admit?.(this, body);

  private readonly onFrame = (frame: Buffer): void => {
    if (this.busy) {
      this.queue.push(Buffer.from(frame)); // frames may be views into a socket chunk: keep a copy
      return;
    }
    this.process(frame);
  };

  private process(frame: Buffer): void {
    if (this.state !== 'open') return;
    if (this.handler.onFrame && frame[0] === 1 && frame[2] === 0) {
      const msgType = frame[1] as MsgType;
      let handled: QValue | undefined;
      try {
        handled = this.handler.onFrame(this, frame, msgType);
      } catch (err) {
        this.reply(msgType, undefined, err);
        return;
      }
      if (handled !== undefined) { this.reply(msgType, handled, undefined); return; }
    }
    let msg;
    try {
      msg = decodeMessage(frame, this.limits, this.handler.admit ? this.admitBody : undefined);
    } catch (err) {
      if (err instanceof QError) { // refused by admit, never decoded
        this.logRate.warn(this.log, `refused ${err.message}`, { err: err.message, bytes: frame.length }, 'message refused');
        this.reply(frame[1] as MsgType, undefined, err);
        return;
      }
      this.fail('badmsg', 'undecodable message', err);
      return;
    }
    let result: QValue | Promise<QValue>;
    try {
      result = this.handler.onMessage(this, msg.value, msg.msgType, msg.littleEndian ? msg.body : undefined);
    } catch (err) {
      this.reply(msg.msgType, undefined, err);
      return;
    }
    if (result instanceof Promise) {
      // Hold this client's later messages until the answer is out: replies stay in request order.
      this.busy = true;
      this.socket.pause();
      result.then(
        (value) => this.finish(msg.msgType, value, undefined),
        (err: unknown) => this.finish(msg.msgType, undefined, err),
      );
      return;
    }
    this.reply(msg.msgType, result, undefined);
  }

  private finish(msgType: MsgType, value: QValue | undefined, err: unknown): void {
    this.busy = false;
    this.reply(msgType, value, err);
    while (!this.busy && this.queue.length > 0 && this.state === 'open') this.process(this.queue.shift() as Buffer);
    if (!this.busy && this.state === 'open') this.socket.resume();
  }

  private reply(msgType: MsgType, value: QValue | undefined, err: unknown): void {
    if (err !== undefined) {
      const text = clientText(err);
      if (err instanceof QError) this.log.debug({ err: text, sync: msgType === MsgType.Sync }, 'q error');
      else this.log.error({ err }, 'handler failed');
      if (msgType === MsgType.Sync) this.respond(qError(text));
      return;
    }
    if (msgType === MsgType.Sync && value !== undefined) this.respond(value);
  }

  /**
   * Sends a response. A result that cannot be serialised is the handler's fault, not the client's: that
   * request is answered with the error and the connection stays open (thrown here, it would close the
   * connection as a bad frame, or, from a Promise's callback, end the process as an unhandled rejection).
   */
  private respond(value: QValue): void {
    let bytes: Buffer;
    try {
      bytes = encodeMessage(value, MsgType.Response);
    } catch (err) {
      this.log.error({ err }, 'reply not serialisable');
      bytes = encodeMessage(qError(clientText(err).replaceAll('\0', ' ')), MsgType.Response);
    }
    this.send(new Outbound(bytes));
  }
}

/** Whether some queued message's journal gate was withdrawn (a loop: no closure per turn per connection). */
function anyWithdrawn(gates: ReadonlyArray<OutboundGate | undefined>): boolean {
  for (let i = 0; i < gates.length; i++) if ((gates[i] as OutboundGate | undefined)?.withdrawn) return true;
  return false;
}

/**
 * The connections to uncork at the end of this turn, in the order they first queued a message: one
 * nextTick for all of them (a publish to 100 subscribers would otherwise schedule 100).
 */
const toUncork: Array<() => void> = [];

function uncorkLater(uncork: () => void): void {
  if (toUncork.push(uncork) === 1) process.nextTick(uncorkAll);
}

function uncorkAll(): void {
  // A connection that sends again while this runs (another's flush hook) joins the end of this list.
  for (let i = 0; i < toUncork.length; i++) {
    try {
      (toUncork[i] as () => void)();
    } catch {
      // uncork logs its own hook's failure; a socket write that throws must not keep the rest waiting
    }
  }
  toUncork.length = 0;
}

function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.');
}
