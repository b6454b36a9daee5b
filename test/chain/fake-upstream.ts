// A scripted upstream tickerplant for the chain's ordering tests: it answers the handshake, .u.d and
// .u.sub[`;`], and lets a test decide what else goes on the wire and in which socket write — which a
// real TP cannot be made to do (an update and a sync answer in one TCP read).
import net from 'node:net';
import type { Test } from 'tap';
import {
  date, decodeMessage, encodeMessage, Framer, list, MsgType, sym, table, timespans, symbols, floats, ints,
} from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';
import { emptyTable } from '../../src/tick/index.js';
import type { TableSchema } from '../../src/tick/index.js';

export const TRADE: TableSchema = { name: 'trade', columns: ['time', 'sym', 'price', 'size'], types: [16, 11, 9, 6] };
/** 2024.01.02 as q's date (days since 2000.01.01). */
export const DAY = 8767;

/** (`upd;`trade;one row) as u.q pub sends it. */
export function updMessage(sym_: string, price: number): Buffer {
  const rows = table([...TRADE.columns], [timespans([36_000_000_000_000n]), symbols([sym_]), floats([price]), ints([price])]);
  return encodeMessage(list(sym('upd'), sym('trade'), rows), MsgType.Async);
}

export const response = (v: QValue): Buffer => encodeMessage(v, MsgType.Response);

export interface FakeUpstream {
  readonly port: number;
  /** Queries other than .u.d and .u.sub[`;`], with a way to write the answer (and anything else). */
  onQuery: (text: string, socket: net.Socket) => void;
  /** Bytes written right after the .u.sub answer, in the same write. */
  afterSubscribe: Buffer[];
  readonly sockets: net.Socket[];
}

export async function fakeUpstream(t: Test): Promise<FakeUpstream> {
  const sockets: net.Socket[] = [];
  const fake: FakeUpstream = {
    port: 0,
    onQuery: () => undefined,
    afterSubscribe: [],
    sockets,
  };
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let handshaken = false;
    const framer = new Framer({ maxMessageBytes: 1 << 20 });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (!handshaken) {
        const end = chunk.indexOf(0);
        if (end < 0) return;
        handshaken = true;
        socket.write(Buffer.from([3]));
        chunk = chunk.subarray(end + 1);
        if (chunk.length === 0) return;
      }
      framer.push(chunk, (frame) => {
        const v = decodeMessage(frame, { maxMessageBytes: 1 << 20, maxDepth: 64 }).value;
        const text = v.type === 10 ? Buffer.from(v.data).toString('latin1') : '';
        if (text === '.u.d') socket.write(response(date(DAY)));
        else if (text === '.u.sub[`;`]') {
          socket.write(Buffer.concat([response(list(list(sym('trade'), emptyTable(TRADE)))), ...fake.afterSubscribe]));
        } else fake.onQuery(text, socket);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { port: number }).port = (server.address() as net.AddressInfo).port;
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return fake;
}
