// The package's entry for embedders: the kdb+ IPC codec and value model, a q client over it, and the
// tickerplant itself (command-line parsing, start and stop). The `tickerplant` command is dist/cli.js.
// Spec: code.kx.com/q/basics/ipc, code.kx.com/q/kb/serialization.
export {
  decodeMessage, decodePayload, encodeMessage, encodePayload, compress, decompress, readHeader, HEADER_BYTES,
  Attr, MsgType, QType,
} from './ipc/index.js';
export type { Header, Message, MessageLimits } from './ipc/index.js';
export * from './ipc/values.js';
export { QConnection, parseHostPort, type ClientOptions } from './client/index.js';
export { startApp, type App, type AppDeps } from './app.js';
export { parseCommandLine, helpText, OPTIONS, type Config, type ParsedArgs } from './config.js';
export { createLogger } from './log.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export { Q, QError, TpError, ConfigError, IpcDecodeError, IpcEncodeError, LightningError } from './errors.js';
export { acceptsCall, answer, type Surface } from './q/index.js';
