// A request's target as a URL (src/http/target.ts): what Node's HTTP parser lets through but the WHATWG
// URL parser refuses is undefined, never a throw (the server answers 400: server.test.ts).
import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { requestUrl } from '../../src/http/target.js';

const req = (url: string | undefined): IncomingMessage => ({ url }) as IncomingMessage;

t.test('a path and query are read against the server itself; a target the URL parser refuses is undefined', async (t) => {
  const u = requestUrl(req('/l402/stream?table=trade&syms=A,B'));
  t.equal(u?.pathname, '/l402/stream');
  t.equal(u?.searchParams.get('syms'), 'A,B');
  t.equal(requestUrl(req(undefined))?.pathname, '/', 'no target is the root');
  for (const bad of ['//', '//a:b@', '/\\']) t.equal(requestUrl(req(bad)), undefined, JSON.stringify(bad));
});
