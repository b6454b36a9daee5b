// A BOLT11 payment request as a QR code in SVG, drawn on the server so the web page needs no library.
// Encoding by the `qrcode` package (ISO/IEC 18004); the text is upper-cased "LIGHTNING:<request>"
// (BIP-21 style, case-insensitive bech32) so that it fits QR's denser alphanumeric mode.
import { createRequire } from 'node:module';

interface QrCode { readonly modules: { readonly size: number; readonly data: Uint8Array } }
interface QrCodeLib { create(text: string, options: { errorCorrectionLevel: 'L' | 'M' | 'Q' | 'H' }): QrCode }

const qrcode = createRequire(import.meta.url)('qrcode') as QrCodeLib;

/** Quiet zone in modules (the standard asks for 4). */
const MARGIN = 4;

/** The payment request's QR code as a standalone SVG document (black on white, one path). */
export function paymentRequestSvg(paymentRequest: string): string {
  const { size, data } = qrcode.create(`LIGHTNING:${paymentRequest.toUpperCase()}`, { errorCorrectionLevel: 'M' }).modules;
  let d = '';
  for (let y = 0; y < size; y++) {
    let x = 0;
    while (x < size) {
      if (data[y * size + x] === 0) { x++; continue; }
      const start = x;
      while (x < size && data[y * size + x] !== 0) x++;
      d += `M${start + MARGIN} ${y + MARGIN}h${x - start}v1h-${x - start}z`;
    }
  }
  const side = size + 2 * MARGIN;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}" shape-rendering="crispEdges">` +
    `<rect width="${side}" height="${side}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`;
}
