// Prometheus metrics (/metrics): counters and gauges read from the parts' own stats when scraped (collect
// callbacks), so the publish path is untouched. Spec: Prometheus text exposition format 0.0.4; prom-client 15.
import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BackendStatus, InvoiceBackend, PaywallStats } from './payments/index.js';
import type { CloseReason } from './server/index.js';
import type { TickStats } from './tick/index.js';

/** Counters of one table (asked of the Tickerplant as `tableStats(t)`). */
export interface TableCounters {
  readonly updates: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly messagesOut: number;
}

/** The open journal (asked of the Tickerplant as `journalStats()`): JournalWriter.bytes / .records. */
export interface JournalCounters {
  readonly bytes: number;
  readonly records: number;
}

/** What metrics read from the Tickerplant. The two optional getters are used when it has them. */
export interface TickSource {
  readonly names: readonly string[];
  readonly stats: Readonly<TickStats>;
  readonly w: { count(table?: string): number };
  readonly i: number;
  readonly j: number;
  readonly logFile: string | undefined;
  tableStats?(table: string): TableCounters | undefined;
  journalStats?(): JournalCounters | undefined;
  readonly journalHealth?: { readonly up: boolean; readonly faults: number; readonly refused: number; readonly withdrawn: number };
}

export interface ConnectionSource {
  readonly queuedBytes: number;
  readonly socket: { readonly bytesRead: number; readonly bytesWritten: number };
}

export interface ServerSource {
  readonly handles: ReadonlyMap<number, ConnectionSource>;
  /** Sockets closed at accept (--max-connections, total or per peer). */
  readonly refused?: number;
}

/** The HTTP listener (page, /ws, L402, /metrics): its sockets closed at accept. */
export interface HttpSource {
  readonly refused: number;
}

/** The part of an InvoiceBackend that metrics read: its kind, status() and 'status' events. */
export interface BackendSource {
  readonly kind: InvoiceBackend['kind'];
  status(): BackendStatus;
  on(event: 'status', listener: (status: BackendStatus) => void): unknown;
  off(event: 'status', listener: (status: BackendStatus) => void): unknown;
}

export interface PaymentsSource {
  readonly paywall: { readonly stats: Readonly<PaywallStats>; readonly pendingCount: number };
  /** The ledger's and the book's disk health. */
  readonly files?: { readonly writeFailures: number; readonly unwritten: number };
  readonly backend: BackendSource;
}

export interface MetricsSources {
  readonly tp: TickSource;
  readonly server?: ServerSource | undefined;
  /** The IPC handler: messages it refused before decoding them. */
  readonly dispatch?: { readonly refused: number } | undefined;
  /** Read when scraped: the HTTP listener starts after the metrics it serves. */
  readonly http?: (() => HttpSource | undefined) | undefined;
  /** Undefined when payments are off: no paywall or lightning metrics then. */
  readonly payments?: PaymentsSource | undefined;
  /** The JetStream part (--nats, --from-nats); undefined when off. */
  readonly nats?: { readonly mode?: string; lag(): number; up?(): boolean; role?(): string } | undefined;
  readonly log?: Logger;
  /** process_* and nodejs_* metrics (CPU, memory, handles, GC, event-loop lag). [defaultMetrics=true] */
  readonly defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  /** Serves the exposition text to GET and HEAD; 405 for other methods. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** The exposition text, as the handler serves it. */
  text(): Promise<string>;
  /**
   * For the IPC close hook: counts closes by reason (reason 'slow' is a slow-subscriber drop) and keeps
   * the byte totals of connections that have gone.
   */
  connectionClosed(conn: ConnectionSource, reason: CloseReason): void;
  /** A WebSocket or SSE client dropped as a slow consumer (IPC ones come through connectionClosed). */
  slowConsumerDropped(): void;
  close(): void;
}

const PREFIX = 'tickerplant_';

export function createMetrics(sources: MetricsSources): Metrics {
  const { tp, server, payments, log } = sources;
  const registry = new Registry();
  const registers = [registry];
  if (sources.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  /** A counter whose value is read from elsewhere when scraped. */
  const mirror = (name: string, help: string, read: () => number): void => {
    new Counter({ name: PREFIX + name, help, registers, collect() { this.reset(); this.inc(read()); } });
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name: PREFIX + name, help, registers, collect() { this.set(read()); } });
  };
  /** Per table when the Tickerplant keeps per-table counters; otherwise one unlabelled total. */
  const perTable = (name: string, help: string, pick: (c: TableCounters) => number): void => {
    new Counter({
      name: PREFIX + name, help, labelNames: ['table'], registers,
      collect() {
        this.reset();
        if (typeof tp.tableStats !== 'function') { this.inc(pick(tp.stats)); return; }
        for (const table of tp.names) {
          const c = tp.tableStats(table);
          if (c) this.inc({ table }, pick(c));
        }
      },
    });
  };

  perTable('updates_total', 'Updates (.u.upd calls) accepted, those a failed journal flush withdrew afterwards included (journal_withdrawn_records_total)', (c) => c.updates);
  perTable('rows_in_total', 'Rows received from feeds (withdrawn ones included, as updates_total)', (c) => c.rowsIn);
  perTable('rows_out_total', 'Rows published (each publish counted once, whatever the filters)', (c) => c.rowsOut);
  perTable('messages_out_total', 'upd messages sent to subscribers', (c) => c.messagesOut);
  mirror('bad_updates_total', 'Updates refused (unknown table, wrong type or length)', () => tp.stats.badUpdates);
  new Gauge({
    name: `${PREFIX}subscribers`, help: 'Entries in .u.w per table', labelNames: ['table'], registers,
    collect() { for (const table of tp.names) this.set({ table }, tp.w.count(table)); },
  });

  const nats = sources.nats;
  if (nats) {
    gauge('nats_lag_records', 'Primary: journal records JetStream has not acknowledged; edge or standby: stream messages not applied yet', () => nats.lag());
    const up = nats.up?.bind(nats);
    if (up) gauge('nats_up', 'Whether the NATS connection is up (0 while it reconnects; the lag above is then not current)', () => (up() ? 1 : 0));
    const role = nats.role?.bind(nats);
    if (role && nats.mode === 'ha') gauge('ha_leader', 'With --ha: 1 while this member leads (takes feeds), else 0', () => (role() === 'leader' ? 1 : 0));
  }

  if (tp.logFile !== undefined) {
    let last: JournalCounters = { bytes: 0, records: 0 };
    const journal = (): JournalCounters => {
      const own = typeof tp.journalStats === 'function' ? tp.journalStats() : fromFile(tp);
      if (own) last = own;
      return last;
    };
    gauge('journal_bytes', "Size of today's journal in bytes", () => journal().bytes);
    gauge('journal_records', "Records in today's journal", () => journal().records);
    const health = tp.journalHealth;
    if (health) {
      gauge('journal_up', 'Whether the journal takes writes (0 after a failed write until one succeeds)', () => (health.up ? 1 : 0));
      mirror('journal_faults_total', 'Times the journal went from writing to failing (e.g. disk full)', () => health.faults);
      mirror('journal_refused_updates_total', "Updates refused because the journal could not take them (sync feeds got 'journal)", () => health.refused);
      mirror('journal_withdrawn_records_total', 'Records rolled back by a failed flush; their rows were never published', () => health.withdrawn);
    }
  }

  const closes = new Counter({
    name: `${PREFIX}connections_closed_total`, help: 'IPC connections closed, by reason', labelNames: ['reason'], registers,
  });
  const slowDrops = new Counter({
    name: `${PREFIX}slow_subscriber_drops_total`, help: 'Clients dropped for letting too many outbound bytes queue (IPC, WebSocket and SSE)', registers,
  });
  const dispatch = sources.dispatch;
  if (dispatch) mirror('messages_refused_total', "IPC messages answered 'access or 'limit undecoded: neither a call form nor a string under the text cap", () => dispatch.refused);
  new Counter({
    name: `${PREFIX}connections_refused_total`, labelNames: ['listener'], registers,
    help: 'Sockets closed at accept: ipc (-p: kdb+ IPC and WebSocket, over --max-connections in total or from one peer), http (--http-port, over its socket caps)',
    collect() {
      this.reset();
      if (server) this.inc({ listener: 'ipc' }, server.refused ?? 0);
      const h = sources.http?.();
      if (h) this.inc({ listener: 'http' }, h.refused);
    },
  });
  let closedIn = 0;
  let closedOut = 0;
  if (server) {
    gauge('ipc_connections', 'Open IPC connections (past the handshake)', () => server.handles.size);
    gauge('ipc_queued_bytes', 'Outbound bytes queued across all connections', () => sum(server, (c) => c.queuedBytes));
    gauge('ipc_queued_bytes_max', 'Outbound bytes queued on the most backed-up connection', () => {
      let max = 0;
      for (const c of server.handles.values()) max = Math.max(max, c.queuedBytes);
      return max;
    });
    // Closed connections' bytes come from connectionClosed; a counter must never go down, so if that hook
    // is not wired the total holds still until open connections catch up.
    let lastIn = 0;
    let lastOut = 0;
    mirror('bytes_in_total', 'Bytes read from IPC clients', () =>
      (lastIn = Math.max(lastIn, closedIn + sum(server, (c) => c.socket.bytesRead))));
    mirror('bytes_out_total', 'Bytes written to IPC clients', () =>
      (lastOut = Math.max(lastOut, closedOut + sum(server, (c) => c.socket.bytesWritten))));
  }

  let onStatus: ((s: BackendStatus) => void) | undefined;
  if (payments) {
    const { paywall, backend } = payments;
    const labels = { backend: backend.kind };
    gauge('pending_invoices', 'Rows of .u.pendingInvoices (one per table of an unpaid invoice)', () => paywall.pendingCount);
    mirror('invoices_issued_total', 'Invoices minted (subscriptions and renewals)', () => paywall.stats.invoices);
    mirror('invoices_settled_total', 'Invoices paid', () => paywall.stats.settled);
    mirror('invoices_expired_total', 'Invoices that expired unpaid', () => paywall.stats.expired);
    mirror('sats_earned_total', 'Satoshis received for settled invoices', () => paywall.stats.satsEarned);
    mirror('orphan_credits_total', 'Invoices paid after their subscriber had gone (credited in the ledger)', () => paywall.stats.orphans);
    mirror('foreign_settlements_total', 'Settlements on the node of invoices not in the book (other apps, keysend, AMP): not revenue', () => paywall.stats.foreign);
    mirror('invoices_canceled_total', 'Pending invoices lnd reported CANCELED', () => paywall.stats.canceled);
    mirror('invoices_reused_total', 'Priced .u.sub answered with the buyer\'s open invoice for the same request', () => paywall.stats.reused);
    mirror('invoices_failed_total', "Invoices the backend did not mint or the book did not record (.u.sub got 'lightning unavailable or 'invoice): alert on a rate", () => paywall.stats.mintFailures);
    mirror('invoices_refused_total', "Priced .u.sub refused with 'pending (per-connection or total cap)", () => paywall.stats.refusedPending);
    mirror('claims_in_use_total', "Proofs of payment refused with 'in use (held by another live connection)", () => paywall.stats.claimsInUse);
    if (payments.files) {
      const files = payments.files;
      mirror('payment_write_failures_total', 'Writes of the ledger or the invoice book the disk refused (ENOSPC, EIO): alert on any', () => files.writeFailures);
      gauge('payment_records_unwritten', 'Ledger and book records held in memory because the disk refused them', () => files.unwritten);
    }
    new Gauge({
      name: `${PREFIX}lightning_up`, help: 'Whether the payment backend can mint invoices (lnd: invoice stream up)',
      labelNames: ['backend'], registers,
      collect() { this.set(labels, backend.status().up ? 1 : 0); },
    });
    const reconnects = new Counter({
      name: `${PREFIX}lightning_reconnects_total`, help: 'Payment backend transitions from down to up',
      labelNames: ['backend'], registers,
    });
    reconnects.inc(labels, 0);
    let up = backend.status().up;
    onStatus = (s: BackendStatus): void => {
      if (s.up && !up) reconnects.inc(labels);
      up = s.up;
    };
    backend.on('status', onStatus);
  }

  const text = (): Promise<string> => registry.metrics();
  return {
    registry,
    text,
    handler(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      text().then((body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      }, (err: unknown) => {
        log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'metrics collection failed');
        res.writeHead(500).end();
      });
    },
    connectionClosed(conn, reason) {
      closedIn += conn.socket.bytesRead;
      closedOut += conn.socket.bytesWritten;
      closes.inc({ reason });
      if (reason === 'slow') slowDrops.inc();
    },
    slowConsumerDropped() {
      slowDrops.inc();
    },
    close() {
      if (onStatus) payments?.backend.off('status', onStatus);
      registry.clear();
    },
  };
}

function sum(server: ServerSource, f: (c: ConnectionSource) => number): number {
  let n = 0;
  for (const c of server.handles.values()) n += f(c);
  return n;
}

/** Without tp.journalStats(): records from .u.i/.u.j, bytes from the file (staged bytes not yet included). */
function fromFile(tp: TickSource): JournalCounters | undefined {
  if (tp.logFile === undefined) return undefined;
  try {
    return { bytes: statSync(tp.logFile).size, records: Math.max(tp.i, tp.j) };
  } catch {
    return undefined;
  }
}
