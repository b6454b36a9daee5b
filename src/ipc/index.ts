// The kdb+ IPC layer: value model, codec, framing, compression, handshake. No sockets here.
export * from './types.js';
export * from './values.js';
export * from './temporal.js';
export {
  decodePayload, decodeAt, skipValue, decodeBudget, guidText, DEFAULT_MAX_DEPTH, DECODE_BUDGET_FACTOR, DECODE_BUDGET_FLOOR,
  type DecodeOptions,
} from './decode.js';
export { encodePayload, encodeMessage, writeHeader, HEADER_BYTES } from './encode.js';
export { readHeader, decodeMessage, type Header, type Message, type MessageLimits } from './frame.js';
export { compress, decompress, maxExpansion, shouldCompress } from './compress.js';
export { enterGate, leaveGate, Outbound, withGate, type OutboundGate, type Region } from './outbound.js';
export { Framer } from './framer.js';
export { parseHandshake, replyCapability, type Handshake } from './handshake.js';
export {
  readUpdHead, readUpdShape, updShape, singleSym, vectorSyms, symbolText, tablePrefixes, journalRecordBytes,
  writeJournalRecord, publishedBytes, writePublished, Slab, SlabRegion, MAX_UPD_ITEMS, type UpdHead, type UpdShape, type TablePrefixes,
} from './layout.js';
export { symbolStarts, publishedRowsBytes, writePublishedRows, SymbolCache } from './layout.js';
