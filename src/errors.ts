// Error classes shared by every layer. Each error carries a stable `code`; QError's message is the
// text a q client sees after the tick (e.g. 'type, 'length, 'access, or a table name).

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
  constructor(qText: string, options?: ErrorOptions) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super('Q_ERR', qText, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
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
