// The HTTP side: the web page, /healthz, /metrics and the WebSocket gateway at /ws.
export { HTTP_SOCKET_LIMITS, startHttp, WEB_ROOT, type HttpOptions, type HttpServer } from './server.js';
