// NATS JetStream: the primary's bridge from its journal to TICK_<SRC>, edge tickerplants that follow the
// stream, and the hot-standby pair. Spec: docs.nats.io JetStream.
export { PrimaryBridge, type BridgeOptions, type JournalSource } from './bridge.js';
export { Edge, type EdgeOptions } from './edge.js';
export { Follower, type FollowedTickerplant } from './follower.js';
export { HotStandby, type HotStandbyOptions, type HaTickerplant, type Role } from './ha.js';
export { checkSource, endSubject, msgId, parseMsgId, streamName, tableSubject, leaseBucket } from './names.js';
export { natsServers } from './stream.js';
export { startNats, type NatsMode, type NatsPart, type NatsStartOptions } from './start.js';
