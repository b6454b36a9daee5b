// The one error catalogue: the classes every layer throws, their stable codes, and every text a q client
// can see (Q below). QError's message is that text without the leading tick; besides Q's entries only a
// table name reaches a client (u.q signals 'x for an unknown table x). Spec: code.kx.com/q/basics/errors.

/** Every q error text the tickerplant signals. Paths, stacks and lnd's sentences never reach a client. */
export const Q = {
  /** A form outside the accepted table, or a name that does not exist here. */
  access: 'access',
  type: 'type',
  length: 'length',
  rank: 'rank',
  /** A bounded input or reply over its limit (--max-reply-bytes, the text cap). */
  limit: 'limit',
  mismatch: 'mismatch',
  /** A schema table whose first columns are not time and sym (tick.q's check). */
  timesym: 'timesym',
  /** The tickerplant is stopping: updates are refused. */
  closed: 'closed',
  /** The caller's connection is gone. */
  handle: 'handle',
  /** Anything that failed inside: the log line has the detail, the client only this word. */
  error: 'error',
  /** A message the decoder refused. */
  badmsg: 'badmsg',
  lightningUnavailable: 'lightning unavailable',
  upstreamUnavailable: 'upstream unavailable',
  preimage: 'preimage',
  unpaid: 'unpaid',
  expired: 'expired',
  inUse: 'in use',
  /** .dev.pay could not pay that request (unknown, already paid, unreadable). */
  pay: 'pay',
  /** .dev.pay of an invoice that is already settled. */
  alreadyPaid: 'already paid',
  /** lnd could not mint the invoice (or the book could not record it): the subscription is unchanged. */
  invoice: 'invoice',
  /** Too many unpaid invoices (--max-pending-per-conn, --max-pending-invoices). */
  pending: 'pending',
  /** A hot standby: updates go to the leader (q/feed.q moves on). */
  standby: 'standby',
  /** An edge tickerplant: its journal is the primary's, so local feeds are refused. */
  edge: 'edge',
  /** JetStream did not store the update (a hot-standby leader acknowledges nothing it has not stored). */
  nats: 'nats',
  /** The journal could not take the update (a full disk, a failed write or fdatasync): nothing of it was kept. */
  journal: 'journal',
} as const;

/** A text from the catalogue. */
export type QText = (typeof Q)[keyof typeof Q];

export type ErrorCode =
  | 'IPC_ERR_TRUNCATED'
  | 'IPC_ERR_BAD_TYPE'
  | 'IPC_ERR_TOO_LARGE'
  | 'IPC_ERR_TOO_DEEP'
  | 'IPC_ERR_BAD_LENGTH'
  | 'IPC_ERR_HANDSHAKE'
  | 'IPC_ERR_COMPRESSION'
  | 'IPC_ERR_ENCODE'
  | 'Q_ERR'
  | 'JOURNAL_ERR_CORRUPT'
  | 'JOURNAL_ERR_IO'
  | 'SCHEMA_ERR'
  | 'CONFIG_ERR_INVALID'
  | 'LN_ERR_UNAVAILABLE'
  | 'LN_ERR_AUTH'
  | 'LN_ERR_PROTOCOL';

export class TpError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Malformed bytes on the wire: the connection that sent them cannot be resynchronised. */
export class IpcDecodeError extends TpError {}

/** A value that cannot be serialised (unknown type code, inconsistent table). */
export class IpcEncodeError extends TpError {
  constructor(message: string, options?: ErrorOptions) {
    super('IPC_ERR_ENCODE', message, options);
  }
}

/**
 * An error a q client sees: the message is q's error text without the leading tick. Refusals are part of
 * normal traffic (bad updates, 'access), so no stack trace is captured: it cost 9% of CPU under fuzz.
 */
export class QError extends TpError {
  /** Only catalogue texts compile here; a table's name (u.q's 'x) or a remote q error goes through named(). */
  constructor(qText: QText, options?: ErrorOptions) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super('Q_ERR', qText, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** A name as the error text: an unknown table (u.q signals 'x), or a q server's own error relayed. */
  static named(name: string): QError {
    return new QError(name as QText);
  }
}

/**
 * What a q client is told for any error: a QError's own text, 'badmsg for undecodable bytes, the codec's
 * sentence for an unencodable reply, 'lightning unavailable for a backend failure, and for every other
 * failure only 'error (its message may hold a path or a backend's sentence: that goes to the log).
 */
export function clientText(err: unknown): string {
  if (err instanceof QError) return err.message;
  if (err instanceof IpcDecodeError) return Q.badmsg;
  if (err instanceof IpcEncodeError) return err.message; // the codec's own fixed sentences ('symbol contains a NUL byte')
  if (err instanceof LightningError) return Q.lightningUnavailable;
  return Q.error;
}

export class ConfigError extends TpError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_ERR_INVALID', message, options);
  }
}

/** A Lightning backend failure; `grpcCode` is the gRPC status code when lnd answered. */
export class LightningError extends TpError {
  readonly grpcCode: number | undefined;
  constructor(code: 'LN_ERR_UNAVAILABLE' | 'LN_ERR_AUTH' | 'LN_ERR_PROTOCOL', message: string,
    grpcCode?: number, options?: ErrorOptions) {
    super(code, message, options);
    this.grpcCode = grpcCode;
  }
}

/**
 * What an HTTP client of the L402 routes is told: a stable code, its status and one fixed sentence —
 * never a path, a stack or a backend's own words (those go to the log). Body: {"code","message"}.
 */
export const HTTP_ERRORS = {
  notFound: { status: 404, code: 'not_found', message: 'no such route' },
  method: { status: 405, code: 'method_not_allowed', message: 'use GET' },
  badRequest: { status: 400, code: 'bad_request', message: 'table=<name> and optionally syms=A,B,… (at most 256, 64 characters each)' },
  noSuchTable: { status: 404, code: 'no_such_table', message: 'no such table' },
  badLastEventId: { status: 400, code: 'bad_last_event_id', message: 'Last-Event-ID is not an id this stream sent' },
  access: { status: 401, code: 'access', message: 'credentials required' },
  l402Off: { status: 403, code: 'l402_off', message: 'L402 is off under -u: start the tickerplant with --l402-public to sell to anyone who pays' },
  // A token that buys nothing is answered with a fresh challenge (bLIP-26): 402, the invoice in the body.
  badToken: { status: 402, code: 'bad_token', message: 'not a token of ours, or not for this table and these syms: pay this invoice for one' },
  expired: { status: 402, code: 'expired', message: 'the token has expired: pay this invoice for a new one' },
  unpaid: { status: 401, code: 'unpaid', message: 'the invoice of this token is not settled' },
  paymentRequired: { status: 402, code: 'payment_required', message: 'pay the invoice, then send Authorization: L402 <macaroon>:<preimage>' },
  inUse: { status: 409, code: 'in_use', message: 'another stream holds this payment' },
  pending: { status: 429, code: 'pending', message: 'too many unpaid invoices: pay or let some expire' },
  tooMany: { status: 503, code: 'too_many_streams', message: 'too many streams' },
  lightningUnavailable: { status: 503, code: 'lightning_unavailable', message: 'the payment backend is unavailable' },
  noJournal: { status: 503, code: 'no_journal', message: 'this tickerplant keeps no journal (no DST): nothing to read back' },
  internal: { status: 500, code: 'internal', message: 'internal error' },
} as const;

export type HttpError = (typeof HTTP_ERRORS)[keyof typeof HTTP_ERRORS];
