// q client over our own codec (for tools and chained tickerplants).
export { QConnection, parseHostPort, type ClientOptions } from './connection.js';
