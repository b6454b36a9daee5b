// The upstream of a chained tickerplant as chainedtick.q takes it: [host]:port[:user[:password]]
// (q's hopen form, a leading ':' allowed). Credentials are for the handshake only, never for logs.
import { ConfigError } from '../errors.js';

export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
}

/** Parses --chain; an empty host is localhost, as in q. The text is not echoed: it may hold a password. */
export function parseUpstreamAddress(s: string): UpstreamAddress {
  const m = /^:?([^:]*):(\d{1,5})(?::([^:]*)(?::(.*))?)?$/s.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new ConfigError('--chain expects [host]:port[:user:password] of the upstream tickerplant, port 1-65535');
  }
  const host = m[1] || '127.0.0.1';
  const user = m[3];
  const password = m[4];
  return {
    host, port,
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** host:port, for logs. */
export function describeUpstream(a: UpstreamAddress): string {
  return `${a.host}:${a.port}`;
}
