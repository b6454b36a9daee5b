// The transport layer for q clients; depends only on ipc/.
export { IpcServer, type ServerOptions, type ListenAddress } from './server.js';
export { Connection, type Handler, type CloseReason } from './connection.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { allowAll, loadUsersFile, type Authenticator } from './auth.js';
