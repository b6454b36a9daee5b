// The WebSocket side: the JSON protocol (gateway.ts), q values as JSON (json.ts), invoice QR codes (qr.ts).
export { WsGateway, originAllowed, DEFAULT_GATEWAY_LIMITS, WS_USER, type DevPay, type GatewayLimits, type GatewayOptions } from './gateway.js';
export { toJson, tableToJson, pushEvent, pushJson, type Json, type JsonTable, type PushEvent, type PushJson } from './json.js';
export { paymentRequestSvg } from './qr.js';
