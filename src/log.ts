// The only place the logger is built: pino JSON lines, object first, constant message. Secrets are
// redacted by path so a careless field name cannot leak them.
import { pino } from 'pino';
import type { Logger, LevelWithSilent, DestinationStream } from 'pino';

export type { Logger };

const REDACT = [
  'password', '*.password', 'macaroon', '*.macaroon', 'preimage', '*.preimage',
  'authorization', '*.authorization', 'headers.authorization',
];

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } };
  return destination ? pino(options, destination) : pino(options);
}
