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
  // Taken before the start, which opens the ports and can take seconds: a SIGTERM then still stops it
  // cleanly (journal closed, exit 0) once it has started, instead of killing it half way.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  const app = await startApp(args.config, { log });
  // For whoever started it, on stderr: stdout carries the JSON log lines only (one event each).
  process.stderr.write(`tickerplant listening on :${app.port}\n`);
  if (app.httpPort !== undefined) process.stderr.write(`web page: http://${pageHost(args.config.host)}:${app.httpPort}/\n`);
  await stopped;
  // Exit 1 when the way out lost records (a full disk refusing the last journal or ledger write).
  return (await app.close()) ? 0 : 1;
}

/** The host to print in the page's address: the one listened on, or localhost when it is every interface. */
function pageHost(host: string | undefined): string {
  if (host === undefined || host === '' || host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
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
