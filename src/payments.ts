// Wiring of the payment side: which backend (none, the dev node, lnd), the paywall over it, and the q
// names that belong to it (.dev.pay exists only with the dev node, so real lnd cannot be paid with fake money).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { ConfigError, QError } from './errors.js';
import { dict, list, str, symbols, text } from './ipc/index.js';
import { DevBackend, LndBackend } from './lightning/index.js';
import type { InvoiceBackend } from './lightning/index.js';
import type { Env } from './q/index.js';
import { bindPaywall, Ledger, loadPricing, Paywall, Pricing } from './tick/index.js';
import type { Binding, Subscriber, Tickerplant } from './tick/index.js';

export interface Payments {
  readonly backend: InvoiceBackend;
  readonly paywall: Paywall;
  readonly ledger: Ledger;
  close(): Promise<void>;
}

function readSecretFile(what: string, path: string | undefined): Buffer {
  if (!path) throw new ConfigError(`--lnd needs ${what}`);
  if (!existsSync(path)) throw new ConfigError(`${what} not found at ${path}`);
  return readFileSync(path);
}

export function createBackend(config: Config, stateDir: string, clock: Clock, log: Logger): InvoiceBackend | undefined {
  const now = (): number => Number(clock.nowNanos() / 1_000_000n);
  if (config.lightning === 'dev') {
    return new DevBackend({
      dataDir: config.dataDir, now, log: log.child({ mod: 'dev-ln' }),
      ...(config.devAutopayMs !== undefined ? { autopayMs: config.devAutopayMs } : {}),
    });
  }
  if (config.lightning === 'lnd') {
    return new LndBackend({
      host: config.lnd as string,
      tlsCert: readSecretFile("lnd's tls.cert (--lnd-tlscert)", config.lndTlsCert),
      macaroon: readSecretFile('a macaroon (--lnd-macaroon)', config.lndMacaroon),
      stateFile: join(stateDir, 'lnd-cursor.json'),
      log: log.child({ mod: 'lnd' }),
    });
  }
  return undefined;
}

/** Builds the paywall over a started backend and binds its q names. Returns the Binding.subscribe hook. */
export async function startPayments(
  config: Config, tp: Tickerplant, env: Env, clock: Clock, log: Logger,
  lookup: (handle: number) => Subscriber | undefined, subscriberFor: Binding['subscriberFor'],
): Promise<Payments | undefined> {
  const stateDir = config.dst ?? config.dataDir;
  const backend = createBackend(config, stateDir, clock, log);
  if (!backend) return undefined;
  const pricing = config.pricingFile ? loadPricing(config.pricingFile, config.priceSat) : Pricing.flat(config.priceSat);
  const ledger = new Ledger(join(stateDir, 'ledger.jsonl'));
  const paywall = new Paywall({
    tp, backend, pricing, ledger, clock, log, lookup,
    invoiceExpirySeconds: config.invoiceExpirySeconds,
    ...(config.entitlementMs !== undefined ? { entitlementMs: config.entitlementMs } : {}),
  });
  await backend.start();
  const status = backend.status();
  if (!status.up) log.warn({ reason: status.reason }, 'lightning unavailable');
  else log.info({ backend: backend.kind }, 'lightning ready');
  bindPaywall(env, paywall, subscriberFor);
  if (backend instanceof DevBackend) {
    // .dev.pay[payment_request]: pay the built-in dev node; answers like lnd's SendPayment (base64).
    env.defineFunction('.dev.pay', 1, (args) => {
      const request = text(args[0] as Parameters<typeof text>[0]);
      if (request === undefined) throw new QError('type');
      let paid;
      try {
        paid = backend.pay(request);
      } catch (err) {
        throw new QError(err instanceof Error ? err.message : 'pay');
      }
      return dict(symbols(['payment_hash', 'payment_preimage', 'amount_sat']),
        list(str(paid.invoice.rHash.toString('base64')), str(paid.preimage.toString('base64')),
          str(String(paid.invoice.amountPaidSat))));
    });
  }
  return {
    backend, paywall, ledger,
    async close() {
      paywall.close();
      // Shutting down must not fail because the backend could not save its state: say so and go on.
      await backend.close().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lightning backend close failed'));
    },
  };
}
