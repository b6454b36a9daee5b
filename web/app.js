// The page's logic: the WebSocket JSON protocol (docs/websocket.md), the invoice with its countdown,
// the live table (last 50 rows) and a canvas line chart of prices per sym. Plain ES module, no build.

const MAX_ROWS = 50;
const MAX_POINTS = 300;
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const PRICE_COLUMNS = ['price', 'bid', 'ask', 'mid', 'last'];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const el = {
  status: $('status'), form: /** @type {HTMLFormElement} */ ($('subscribe-form')),
  table: /** @type {HTMLSelectElement} */ ($('table')), syms: /** @type {HTMLInputElement} */ ($('syms')),
  subscribe: /** @type {HTMLButtonElement} */ ($('subscribe')), unsubscribe: $('unsubscribe'), error: $('error'),
  invoice: $('invoice'), invoiceTitle: $('invoice-title'), qr: /** @type {HTMLImageElement} */ ($('qr')),
  amount: $('amount'), countdown: $('countdown'), invoiceFor: $('invoice-for'),
  request: /** @type {HTMLTextAreaElement} */ ($('payment-request')), copy: $('copy'),
  pay: /** @type {HTMLButtonElement} */ ($('pay')), paid: $('paid'), paidWhat: $('paid-what'),
  chart: /** @type {HTMLCanvasElement} */ ($('chart')), legend: $('legend'),
  rows: /** @type {HTMLTableElement} */ ($('rows')), rowCount: $('row-count'),
};

const state = {
  /** @type {WebSocket | null} */ ws: null,
  backend: 'none',
  /** @type {Record<string, string[]>} */ tables: {},
  nextId: 1,
  reconnectMs: 1000,
  /** The subscription shown: {id, table, syms, live, hash, preimage}. */
  /** @type {null | {id:number, table:string, syms:string[], live:boolean, hash:string|null, preimage:string|null}} */
  current: null,
  /** @type {string[]} */ columns: [],
  /** @type {unknown[][]} */ rows: [],
  totalRows: 0,
  /** @type {Map<string, {x:number, y:number}[]>} */ series: new Map(),
  seq: 0,
  /** @type {number | undefined} */ countdownTimer: undefined,
  drawPending: false,
};

// ---- connection --------------------------------------------------------------------------------

function connect() {
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.addEventListener('open', () => { state.reconnectMs = 1000; });
  ws.addEventListener('message', (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    handle(msg);
  });
  ws.addEventListener('close', () => {
    if (state.ws !== ws) return;
    state.ws = null;
    el.subscribe.disabled = true;
    if (state.current) state.current.live = false;
    const seconds = Math.round(state.reconnectMs / 1000);
    setStatus('offline', `Disconnected — reconnecting in ${seconds} s…`);
    setTimeout(connect, state.reconnectMs);
    state.reconnectMs = Math.min(state.reconnectMs * 2, 30_000);
  });
}

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function setStatus(kind, text) {
  el.status.dataset.state = kind;
  el.status.textContent = text;
}

function showError(text) {
  el.error.textContent = text;
  el.error.hidden = !text;
}

const describe = (table, syms) => `${table} ${syms.length ? syms.join(', ') : '(all symbols)'}`;

// ---- protocol ----------------------------------------------------------------------------------

function handle(msg) {
  const cur = state.current;
  switch (msg.type) {
    case 'hello': return onHello(msg);
    case 'subscribed':
      if (!cur || msg.table !== cur.table) return;
      cur.live = true;
      hideInvoice();
      if (cur.hash) showPaid();
      setStatus('live', `Streaming ${describe(msg.table, msg.syms)}`);
      return;
    case 'invoice':
      if (!cur || msg.id !== cur.id) return;
      cur.hash = msg.r_hash;
      showInvoice(msg, 'Pay to subscribe');
      setStatus('invoice', `Waiting for payment of ${msg.amount_sat} sats`);
      return;
    case 'renew':
      if (!cur) return;
      cur.hash = msg.r_hash;
      showInvoice(msg, 'Renew your subscription');
      setStatus('invoice', 'Your paid period ends soon: pay the renewal to keep streaming');
      return;
    case 'payment':
      if (cur && msg.r_hash === cur.hash) cur.preimage = msg.preimage;
      setStatus('invoice', 'Payment sent — waiting for settlement…');
      return;
    case 'paid':
      if (!cur || msg.r_hash !== cur.hash || !msg.tables.includes(cur.table)) return;
      cur.live = true;
      hideInvoice();
      showPaid();
      setStatus('live', `Paid — streaming ${describe(cur.table, cur.syms)}`);
      return;
    case 'upd':
      if (cur && msg.table === cur.table) addRows(msg.data);
      return;
    case 'end':
      setStatus(el.status.dataset.state ?? 'live', `End of day ${msg.date}; streaming continues`);
      return;
    case 'unsubscribed':
      return;
    case 'error':
      showError(msg.message);
      if (cur && msg.id === cur.id && !cur.live) setStatus('ready', 'Subscription failed');
      return;
    default:
      return;
  }
}

function onHello(msg) {
  state.tables = msg.tables;
  state.backend = msg.backend;
  const chosen = el.table.value;
  el.table.replaceChildren(...Object.keys(msg.tables).map((name) => new Option(name, name)));
  if (chosen && chosen in msg.tables) el.table.value = chosen;
  else if ('trade' in msg.tables) el.table.value = 'trade';
  el.subscribe.disabled = false;
  const payments = { dev: 'dev Lightning node', lnd: 'Lightning', none: 'free (payments off)' }[msg.backend] ?? msg.backend;
  setStatus('ready', `Connected · ${payments}`);
  // After a reconnect: a paid subscription comes back with its proof of payment, a free one as it was.
  const cur = state.current;
  if (!cur) return;
  cur.id = state.nextId++;
  if (cur.preimage) {
    send({ op: 'subPaid', id: cur.id, table: cur.table, syms: cur.syms, preimage: cur.preimage });
    return;
  }
  // An unpaid invoice died with the connection: ask again (a free table simply resubscribes).
  cur.hash = null;
  hideInvoice();
  send({ op: 'subscribe', id: cur.id, table: cur.table, syms: cur.syms });
}

function subscribe(event) {
  event.preventDefault();
  showError('');
  const table = el.table.value;
  const syms = [...new Set(el.syms.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
  const prev = state.current;
  if (prev && prev.table !== table) send({ op: 'unsubscribe', table: prev.table });
  const id = state.nextId++;
  state.current = { id, table, syms, live: false, hash: null, preimage: null };
  resetData(table);
  hideInvoice();
  el.paid.hidden = true;
  el.unsubscribe.hidden = false;
  setStatus('pending', `Subscribing to ${describe(table, syms)}…`);
  send({ op: 'subscribe', id, table, syms });
}

function unsubscribe() {
  const cur = state.current;
  if (!cur) return;
  send({ op: 'unsubscribe', table: cur.table });
  state.current = null;
  hideInvoice();
  el.paid.hidden = true;
  el.unsubscribe.hidden = true;
  setStatus('ready', `Unsubscribed from ${cur.table}`);
}

// ---- invoice -----------------------------------------------------------------------------------

function showInvoice(msg, title) {
  el.invoiceTitle.textContent = title;
  el.qr.src = msg.qr_svg ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(msg.qr_svg)}` : '';
  el.amount.textContent = msg.amount_sat === null ? '?' : Number(msg.amount_sat).toLocaleString('en');
  el.invoiceFor.textContent = describe(msg.table ?? msg.tables.join(', '), msg.syms ?? state.current?.syms ?? []);
  el.request.value = msg.payment_request;
  el.pay.hidden = state.backend !== 'dev';
  el.pay.disabled = false;
  el.paid.hidden = true;
  el.invoice.hidden = false;
  startCountdown(msg.expires_in);
}

function hideInvoice() {
  el.invoice.hidden = true;
  clearInterval(state.countdownTimer);
}

function showPaid() {
  const cur = state.current;
  if (!cur) return;
  el.paidWhat.textContent = describe(cur.table, cur.syms);
  el.paid.hidden = false;
}

/** Counts down from the server's expires_in (seconds), so a wrong local clock does not matter. */
function startCountdown(seconds) {
  clearInterval(state.countdownTimer);
  if (seconds === null || seconds === undefined) { el.countdown.textContent = '—'; return; }
  const deadline = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    el.countdown.textContent = left === 0 ? 'expired' : formatDuration(left);
    el.countdown.dataset.seconds = String(left);
    if (left === 0) {
      clearInterval(state.countdownTimer);
      el.pay.disabled = true;
      setStatus('ready', 'The invoice expired: subscribe again for a new one');
    }
  };
  tick();
  state.countdownTimer = window.setInterval(tick, 1000);
}

function formatDuration(s) {
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function pay() {
  const request = el.request.value;
  if (!request) return;
  el.pay.disabled = true;
  setStatus('invoice', 'Paying with the dev node…');
  send({ op: 'pay', id: state.nextId++, payment_request: request });
}

async function copyRequest() {
  try {
    await navigator.clipboard.writeText(el.request.value);
    el.copy.textContent = 'Copied';
  } catch {
    el.request.select(); // no clipboard outside secure contexts: leave it selected for Ctrl-C
  }
  setTimeout(() => { el.copy.textContent = 'Copy'; }, 1500);
}

// ---- rows --------------------------------------------------------------------------------------

function resetData(table) {
  state.columns = state.tables[table] ?? [];
  state.rows = [];
  state.totalRows = 0;
  state.series = new Map();
  state.seq = 0;
  const head = el.rows.tHead?.rows[0];
  head?.replaceChildren(...state.columns.map((c) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = c;
    return th;
  }));
  renderRows();
  renderLegend();
  scheduleDraw();
}

/** A columnar update {columns, data:{col:[...]}} → rows (newest first) and chart points. */
function addRows(update) {
  const cols = update.columns;
  const n = cols.length ? update.data[cols[0]].length : 0;
  if (n === 0) return;
  if (state.columns.length === 0) resetData(state.current?.table ?? '');
  const priceCol = PRICE_COLUMNS.find((c) => cols.includes(c)) ??
    cols.find((c) => c !== 'time' && c !== 'sym' && typeof update.data[c][0] === 'number');
  for (let i = 0; i < n; i++) {
    state.rows.unshift(state.columns.map((c) => update.data[c]?.[i] ?? null));
    const sym = update.data.sym?.[i];
    const y = priceCol ? update.data[priceCol][i] : null;
    if (typeof sym === 'string' && typeof y === 'number') {
      const x = timeValue(update.data.time?.[i]) ?? state.seq;
      state.seq++;
      let points = state.series.get(sym);
      if (!points) { points = []; state.series.set(sym, points); }
      points.push({ x, y });
      if (points.length > MAX_POINTS) points.shift();
    }
  }
  state.totalRows += n;
  if (state.rows.length > MAX_ROWS) state.rows.length = MAX_ROWS;
  renderRows();
  renderLegend();
  scheduleDraw();
}

/** Seconds from a q timespan ("0D10:00:00.000000000") or an ISO timestamp; undefined otherwise. */
function timeValue(v) {
  if (typeof v !== 'string') return undefined;
  const m = /^(-)?(\d+)D(\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(v);
  if (m) {
    const s = Number(m[2]) * 86400 + Number(m[3]) * 3600 + Number(m[4]) * 60 + Number(m[5]) + Number(`0.${m[6] ?? 0}`);
    return m[1] ? -s : s;
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t / 1000;
}

function formatCell(col, v) {
  if (v === null || v === undefined) return '';
  if (col === 'time' && typeof v === 'string') return v.replace(/^0D/, '');
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(4).replace(/0{1,2}$/, '');
  return String(v);
}

function renderRows() {
  const body = el.rows.tBodies[0];
  body.replaceChildren(...state.rows.map((row) => {
    const tr = document.createElement('tr');
    row.forEach((v, i) => {
      const td = document.createElement('td');
      const col = state.columns[i] ?? '';
      td.textContent = formatCell(col, v);
      if (typeof v === 'number') td.className = 'num';
      if (col === 'sym') td.dataset.sym = String(v);
      tr.append(td);
    });
    return tr;
  }));
  el.rowCount.textContent = state.totalRows === 0 ? '(none yet)'
    : `(${state.rows.length} shown of ${state.totalRows.toLocaleString('en')} received)`;
}

// ---- chart -------------------------------------------------------------------------------------

const colorOf = (sym) => COLORS[[...state.series.keys()].indexOf(sym) % COLORS.length];

function renderLegend() {
  el.legend.replaceChildren(...[...state.series].map(([sym, points]) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colorOf(sym);
    const last = points[points.length - 1];
    li.append(swatch, `${sym} ${last ? formatCell('price', last.y) : ''}`);
    return li;
  }));
  const syms = [...state.series.keys()];
  el.chart.setAttribute('aria-label', syms.length ? `Price chart for ${syms.join(', ')}` : 'Price chart: no data yet');
}

function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => { state.drawPending = false; draw(); });
}

function draw() {
  const canvas = el.chart;
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 800;
  const height = canvas.clientHeight || 260;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const all = [...state.series.values()].flat();
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#64748b';
  if (all.length === 0) {
    ctx.textAlign = 'center';
    ctx.fillText('Prices appear here once data arrives', width / 2, height / 2);
    return;
  }
  const pad = { left: 64, right: 16, top: 12, bottom: 28 };
  let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  const margin = (y1 - y0) * 0.08 || Math.abs(y0) * 0.01 || 1;
  y0 -= margin; y1 += margin;
  const sx = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);

  ctx.strokeStyle = '#e2e8f0';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.left, sy(y));
    ctx.lineTo(width - pad.right, sy(y));
    ctx.stroke();
    ctx.fillText(y.toFixed(2), pad.left - 8, sy(y));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const label = (x) => (state.columns.includes('time') && x >= 0 && x < 864000 ? clock(x) : '');
  ctx.fillText(label(x0), sx(x0) + 20, height - pad.bottom + 8);
  ctx.fillText(label(x1), sx(x1) - 20, height - pad.bottom + 8);

  for (const [sym, points] of state.series) {
    ctx.strokeStyle = colorOf(sym);
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((p, i) => (i === 0 ? ctx.moveTo(sx(p.x), sy(p.y)) : ctx.lineTo(sx(p.x), sy(p.y))));
    ctx.stroke();
    const last = points[points.length - 1];
    if (last) {
      ctx.fillStyle = colorOf(sym);
      ctx.beginPath();
      ctx.arc(sx(last.x), sy(last.y), 3, 0, Math.PI * 2);
      ctx.fill();
    }
  }
}

function clock(seconds) {
  const s = Math.floor(seconds) % 86400;
  const two = (n) => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

// ---- start -------------------------------------------------------------------------------------

el.form.addEventListener('submit', subscribe);
el.unsubscribe.addEventListener('click', unsubscribe);
el.pay.addEventListener('click', pay);
el.copy.addEventListener('click', copyRequest);
window.addEventListener('resize', scheduleDraw);
resetData('');
connect();
