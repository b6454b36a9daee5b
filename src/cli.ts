#!/usr/bin/env node
// `tickerplant` command: argv/env → Config, run until SIGINT/SIGTERM, print one-line errors.
// Exit codes: 0 ok, 1 runtime failure (corrupt journal, cannot listen), 2 bad command line.
import { packageVersion, startApp } from './app.js';
import { helpText, parseCommandLine } from './config.js';
import { ConfigError, TpError } from './errors.js';
import { createLogger } from './log.js';

async function main(): Promise<number> {
  let args;
  try {
    args = parseCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tickerplant: ${err.message} (see tickerplant --help)\n`);
      return 2;
    }
    throw err;
  }
  if (args.command === 'help') { process.stdout.write(helpText(packageVersion()) + '\n'); return 0; }
  if (args.command === 'version') { process.stdout.write(packageVersion() + '\n'); return 0; }
  if (args.command === 'replay') return (await import('./commands/replay.js')).replayCommand(args);
  if (args.command === 'pay') return (await import('./commands/pay.js')).payCommand(args);

  const log = createLogger(args.config.logLevel);
  const app = await startApp(args.config, { log });
  // For whoever started it, on stderr: stdout carries the JSON log lines only (one event each).
  process.stderr.write(`tickerplant listening on :${app.port}\n`);
  if (app.httpPort !== undefined) process.stderr.write(`web page: http://localhost:${app.httpPort}/\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // Exit 1 when the way out lost records (a full disk refusing the last journal or ledger write).
  return (await app.close()) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // One clear line for known failures (tick.q's corrupt-log message, lnd credentials, ports in use).
    const message = err instanceof TpError || (err instanceof Error && 'code' in err) ? err.message : String(err);
    process.stderr.write(`tickerplant: ${message}\n`);
    if (!(err instanceof TpError) && err instanceof Error && process.env['TP_DEBUG']) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
