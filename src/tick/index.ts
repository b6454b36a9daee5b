// The .u domain: tick.q + u.q state and behaviour. No sockets, no gRPC, no WebSockets.
export { Tickerplant, type TickerplantOptions, type TickStats, type TableStats, type TableView } from './tickerplant.js';
export { OneSym, Subscriptions, type Subscriber, type SymFilter, type PaidEvent, type Publication } from './subscriptions.js';
export type { TickEvent, UpdEvent, EndEvent, RenewEvent, PeriodEndedEvent } from './events.js';
export { SubscriberRegistry } from './registry.js';
export { loadSchema, parseSchema, emptyTable, type TableSchema } from './schema.js';
export { readUpdate, hasTime, type Update } from './update.js';
