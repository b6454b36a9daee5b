// One gRPC channel to lnd: TLS pinned to lnd's tls.cert plus the macaroon as lower-case hex in metadata
// key `macaroon` on every call (lnd's docs/grpc/javascript.md). Replies stay `unknown`;
// lnd-messages.ts narrows them.
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { lndMethod } from './lnd-proto.js';
import type { LndMethodName } from './lnd-proto.js';

/** lnd's own limit (lnrpc.MaxGrpcMsgSize); grpc-js would otherwise stop at 4 MiB per ListInvoices page. */
const MAX_MESSAGE_BYTES = 200 * 1024 * 1024;

export interface LndRpcOptions {
  readonly host: string;
  readonly tlsCert: Buffer;
  readonly macaroon: Buffer;
  readonly timeoutMs: number;
}

export class LndRpc {
  private readonly client: Client;
  private readonly timeoutMs: number;

  constructor(options: LndRpcOptions) {
    const macaroonHex = options.macaroon.toString('hex');
    const perCall = credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new Metadata();
      metadata.set('macaroon', macaroonHex);
      callback(null, metadata);
    });
    const ip = ipOf(options.host);
    // An lnd addressed by IP: TLS server names (SNI) must be host names (RFC 6066 §3; Node warns DEP0123
    // otherwise), so the name sent is 'localhost' (lnd ignores SNI) while the certificate is still checked
    // against the IP we dialled, which lnd's tls.cert lists (tlsextraip / its interfaces).
    const verify = ip === undefined ? {} : { checkServerIdentity: (_name: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(ip, cert) };
    const channelCredentials = credentials.combineChannelCredentials(
      credentials.createSsl(options.tlsCert, null, null, verify), perCall);
    const sni: ChannelOptions = ip === undefined ? {} : { 'grpc.ssl_target_name_override': 'localhost' };
    this.client = new Client(options.host, channelCredentials, {
      ...sni,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      // lnd accepts client pings no more often than every 5 s by default; once a minute is well clear.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
    });
    this.timeoutMs = options.timeoutMs;
  }

  /** A unary call with a deadline; rejects with grpc-js's ServiceError (see lnd-errors.ts). */
  unary(name: Exclude<LndMethodName, 'SubscribeInvoices'>, request: object): Promise<unknown> {
    const method = lndMethod(name);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request,
        new Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, reply) => {
          if (err) reject(err);
          else resolve(reply);
        });
    });
  }

  /** SubscribeInvoices: a server stream without deadline, emitting 'data', 'error' and 'status'. */
  subscribeInvoices(request: { add_index: string; settle_index: string }): ClientReadableStream<unknown> {
    const method = lndMethod('SubscribeInvoices');
    return this.client.makeServerStreamRequest<object, unknown>(method.path, method.requestSerialize,
      method.responseDeserialize, request, new Metadata());
  }

  close(): void {
    this.client.close();
  }
}

/** The IP literal of a host:port target ('127.0.0.1:10009', '[::1]:10009'), or undefined for a name. */
function ipOf(target: string): string | undefined {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(target) ?? /^([^:]+)(?::\d+)?$/.exec(target);
  const host = m?.[1];
  return host !== undefined && isIP(host) !== 0 ? host : undefined;
}
