// Chained tickerplants (`tickerplant --chain [host]:port[:user:password] [-p port] [-t ms]`, KxSystems/kdb
// tick/chainedtick.q): subscribe to an upstream TP and republish to local subscribers. Operator notes:
// - Tables come from upstream's .u.sub[`;`] reply; no journal and no own end of day: upstream's .u.end is
//   forwarded (batch mode publishes the day's buffered rows first) and .u.d follows it. Updates upstream
//   publishes while the link is down are not recovered (as chainedtick.q); .u.end days missed then are
//   sent on resubscription when upstream has .u.d. An upstream back with other tables is refused.
// - `.u `i`L` asked of a chained TP is (0N;`): it has no journal, so r.q replays nothing. chainedr.q's
//   `(`.u `m)"`.u `i`L"` gets upstream's (.u.i;.u.L) through .u.m, which forwards only such read-only
//   queries; updates after upstream's answer wait until the caller has subscribed, as in q.
// - Pricing: a chained TP sells its tables like any TP (--lightning dev / --lnd, --price, --pricing).
//   Its own subscription upstream must be free: upstream runs without a payment backend, or prices the
//   tables at 0 (pricing is per table, so that makes them free to every upstream client: keep such an
//   upstream private, e.g. behind -u). A priced upstream stops the chained TP's start with that advice.
export { startChain, type Chain, type ChainOptions } from './chain.js';
export { parseUpstreamAddress, describeUpstream, type UpstreamAddress } from './address.js';
export { backoffDelay, type BackoffOptions } from '../backoff.js';
export { schemasFromSubReply, sameSchemas } from './schemas.js';
export { Upstream, SUBSCRIBE_ALL, type Subscription, type UpstreamHandler, type UpstreamOptions } from './upstream.js';
