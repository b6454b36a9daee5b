// A request's target as a URL, or undefined when it is not one. Node's HTTP parser accepts targets that
// the WHATWG URL parser refuses ("//", "//a:b@", "/\"): parsing must not throw where nothing catches it
// (an 'upgrade' listener runs outside any request handler, so a throw there ends the process).
import type { IncomingMessage } from 'node:http';

export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}
