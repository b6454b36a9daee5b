// The WebSocket side: the JSON protocol (gateway.ts), q values as JSON (json.ts), invoice QR codes (qr.ts).
export { WsGateway, originAllowed, isSymName, DEFAULT_GATEWAY_LIMITS, WS_USER, type DevPay, type GatewayLimits, type GatewayOptions } from './gateway.js';
export { toJson, tableToJson, updJson, updText, endJson, type Json, type JsonTable, type PushEvent } from './json.js';
export { paymentRequestSvg } from './qr.js';
