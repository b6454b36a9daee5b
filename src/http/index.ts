// The HTTP side: the web page, /healthz, /metrics and the WebSocket gateway at /ws.
export { startHttp, WEB_ROOT, type HttpOptions, type HttpServer } from './server.js';
