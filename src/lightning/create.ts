// Which invoice backend to run (none, the dev node, lnd), from plain options the composition root
// fills in from the command line.
import type { Clock } from '../clock.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import type { InvoiceBackend } from '../payments/backend.js';
import { DevBackend } from './dev.js';
import { LndBackend } from './lnd.js';

export interface BackendChoice {
  readonly lightning: 'none' | 'dev' | 'lnd';
  /** The dev node's key and invoices live here. */
  readonly dataDir: string;
  /** lnd's cursor file (lnd-cursor.json) lives here. */
  readonly stateDir: string;
  readonly devAutopayMs?: number | undefined;
  readonly lnd?: string | undefined;
  readonly lndTlsCert?: string | undefined;
  readonly lndMacaroon?: string | undefined;
  /** Unix ms. */
  readonly now: () => number;
  /** Retry, recheck, sweep and autopay timers (the app's one clock). */
  readonly timers?: Pick<Clock, 'after'> | undefined;
  readonly log: Logger;
}

function readSecretFile(what: string, path: string | undefined): Buffer {
  if (!path) throw new ConfigError(`--lnd needs ${what}`);
  if (!existsSync(path)) throw new ConfigError(`${what} not found at ${path}`);
  return readFileSync(path);
}

/**
 * A macaroon file: lnd's binary one, or the hex text that hosted nodes and BTCPay hand out (a binary V2
 * macaroon starts with byte 2, never a hex digit, so the two cannot be confused).
 */
function readMacaroonFile(path: string | undefined): Buffer {
  const raw = readSecretFile('a macaroon (--lnd-macaroon)', path);
  const text = raw.toString('latin1').trim();
  return text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text) ? Buffer.from(text, 'hex') : raw;
}

/** The backend the options name, not yet started; undefined when payments are off. */
export function createBackend(c: BackendChoice): InvoiceBackend | undefined {
  if (c.lightning === 'dev') {
    return new DevBackend({
      dataDir: c.dataDir, now: c.now, log: c.log.child({ mod: 'dev-ln' }), ...(c.timers ? { timers: c.timers } : {}),
      ...(c.devAutopayMs !== undefined ? { autopayMs: c.devAutopayMs } : {}),
    });
  }
  if (c.lightning === 'lnd') {
    const read = (): { tlsCert: Buffer; macaroon: Buffer } => ({
      tlsCert: readSecretFile("lnd's tls.cert (--lnd-tlscert)", c.lndTlsCert),
      macaroon: readMacaroonFile(c.lndMacaroon),
    });
    return new LndBackend({
      host: c.lnd as string,
      ...read(),
      reload: read, // each reconnect reads both files again: lnd renews its certificate in place
      stateFile: join(c.stateDir, 'lnd-cursor.json'),
      ...(c.timers ? { timers: c.timers } : {}),
      log: c.log.child({ mod: 'lnd' }),
    });
  }
  return undefined;
}
