// The payment request's QR code: the SVG drawn on the server is read back by jsQR (an independent QR
// decoder, ISO/IEC 18004) from a rasterisation of the SVG's own modules, so what a wallet scans is what
// the page offers.
import t from 'tap';
import { createRequire } from 'node:module';
import { paymentRequestSvg } from '../../src/ws/qr.js';

type JsQr = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR = createRequire(import.meta.url)('jsqr') as JsQr;

/** A regtest request as lnd mints it (BOLT 11: bech32, lower case). */
const REQUEST = 'lnbcrt2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaztrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspfj9srp';

interface Svg { readonly side: number; readonly dark: boolean[]; readonly svg: string }

/** The SVG's viewBox and its one path of unit-high rectangles, as a module grid (true = dark). */
function modules(svg: string): Svg {
  const view = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  if (!view || view[1] !== view[2]) throw new Error('not a square viewBox');
  const side = Number(view[1]);
  const d = /<path fill="#000" d="([^"]*)"\/>/.exec(svg)?.[1];
  if (d === undefined) throw new Error('no path');
  const dark = new Array<boolean>(side * side).fill(false);
  const step = /M(\d+) (\d+)h(\d+)v1h-(\d+)z/y;
  let m: RegExpExecArray | null;
  while (step.lastIndex < d.length && (m = step.exec(d)) !== null) {
    const [x, y, w, back] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    if (w !== back) throw new Error('a rectangle that does not close');
    for (let i = 0; i < w; i++) dark[y * side + x + i] = true;
  }
  if (step.lastIndex !== d.length) throw new Error(`unparsed path at ${step.lastIndex}`);
  return { side, dark, svg };
}

/** Black on white RGBA, `scale` pixels per module. */
function raster({ side, dark }: Svg, scale: number): { data: Uint8ClampedArray; width: number } {
  const width = side * scale;
  const data = new Uint8ClampedArray(width * width * 4).fill(255);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      if (!dark[Math.floor(y / scale) * side + Math.floor(x / scale)]) continue;
      const o = (y * width + x) * 4;
      data[o] = data[o + 1] = data[o + 2] = 0;
    }
  }
  return { data, width };
}

const read = (svg: string): string | undefined => {
  const r = raster(modules(svg), 4);
  return jsQR(r.data, r.width, r.width)?.data;
};

t.test('the QR code reads back, with an independent decoder, as LIGHTNING: and the request upper-cased', async (t) => {
  t.equal(read(paymentRequestSvg(REQUEST)), `LIGHTNING:${REQUEST.toUpperCase()}`);
  t.equal(read(paymentRequestSvg('lnbcrt10n1short')), 'LIGHTNING:LNBCRT10N1SHORT');
});

t.test('a long payment request (a 639-byte memo) still fits and reads back', async (t) => {
  const long = 'lnbcrt1' + 'q'.repeat(1200);
  t.equal(read(paymentRequestSvg(long)), `LIGHTNING:${long.toUpperCase()}`);
});

t.test('the SVG is a standalone document: a white square with a 4-module quiet zone around black modules', async (t) => {
  const svg = paymentRequestSvg(REQUEST);
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+" shape-rendering="crispEdges">/);
  const g = modules(svg);
  t.match(svg, `<rect width="${g.side}" height="${g.side}" fill="#fff"/>`);
  const size = g.side - 8;
  t.equal((size - 17) % 4, 0, 'a QR symbol is 17 + 4 × version modules wide');
  for (let y = 0; y < g.side; y++) {
    for (let x = 0; x < g.side; x++) {
      const quiet = x < 4 || y < 4 || x >= g.side - 4 || y >= g.side - 4;
      if (quiet && g.dark[y * g.side + x]) { t.fail(`a dark module in the quiet zone at ${x},${y}`); return; }
    }
  }
  // the three finder patterns: a 7×7 dark ring around a 3×3 dark centre, at three corners
  for (const [cx, cy] of [[4, 4], [4 + size - 7, 4], [4, 4 + size - 7]] as const) {
    const at = (dx: number, dy: number): boolean => g.dark[(cy + dy) * g.side + cx + dx] === true;
    t.ok(at(0, 0) && at(6, 0) && at(0, 6) && at(6, 6) && at(3, 3) && !at(1, 1) && !at(5, 5), `finder at ${cx},${cy}`);
  }
});

t.test('a different request draws a different code', async (t) => {
  t.not(paymentRequestSvg(REQUEST), paymentRequestSvg(REQUEST.replace('2500u', '2600u')));
});
