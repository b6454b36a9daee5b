// The page's logic: the WebSocket JSON protocol (docs/websocket.md), the invoice with its countdown,
// the live table (last 50 rows) and a canvas line chart of each sym's % change since its first price
// (so AAPL at 190 and GOOGL at 140 share one readable axis). Plain ES module, no build.

const MAX_ROWS = 50;
const MAX_POINTS = 300;
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const PRICE_COLUMNS = ['price', 'bid', 'ask', 'mid', 'last'];
/** A line is broken (no diagonal across an outage) when two points are further apart in time than this
 * many times the sym's usual spacing, and never closer than MIN_GAP_SECONDS. */
const GAP_FACTOR = 8;
const MIN_GAP_SECONDS = 2;
const PREIMAGE = /^[0-9a-fA-F]{64}$/;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const el = {
  status: $('status'), form: /** @type {HTMLFormElement} */ ($('subscribe-form')),
  table: /** @type {HTMLSelectElement} */ ($('table')), syms: /** @type {HTMLInputElement} */ ($('syms')),
  subscribe: /** @type {HTMLButtonElement} */ ($('subscribe')), unsubscribe: $('unsubscribe'), error: $('error'),
  note: $('note'), reattachForm: /** @type {HTMLFormElement} */ ($('reattach-form')),
  preimage: /** @type {HTMLInputElement} */ ($('preimage')), reattach: /** @type {HTMLButtonElement} */ ($('reattach')),
  invoice: $('invoice'), invoiceTitle: $('invoice-title'), qr: /** @type {HTMLImageElement} */ ($('qr')),
  amount: $('amount'), countdown: $('countdown'), invoiceFor: $('invoice-for'),
  request: /** @type {HTMLTextAreaElement} */ ($('payment-request')), copy: $('copy'),
  pay: /** @type {HTMLButtonElement} */ ($('pay')), paid: $('paid'), paidState: $('paid-state'), paidWhat: $('paid-what'),
  chart: /** @type {HTMLCanvasElement} */ ($('chart')), legend: $('legend'),
  rows: /** @type {HTMLTableElement} */ ($('rows')), rowCount: $('row-count'),
  paidProof: $('paid-proof'), paidPreimage: $('paid-preimage'), copyPreimage: $('copy-preimage'), paidEnds: $('paid-ends'),
  reattachBox: /** @type {HTMLDetailsElement} */ ($('reattach-box')), signin: /** @type {HTMLButtonElement} */ ($('signin')),
};

const state = {
  /** @type {WebSocket | null} */ ws: null,
  backend: 'none',
  /** @type {Record<string, string[]>} */ tables: {},
  nextId: 1,
  reconnectMs: 1000,
  inUseRetries: 0,
  /** The subscription shown; paid once its invoice settled or a preimage re-attached it. */
  /** @type {null | {id:number, table:string, syms:string[], live:boolean, paid:boolean, hash:string|null, preimage:string|null}} */
  current: null,
  /** A Subscribe that would replace a paid subscription waits for a second press: its table and syms. */
  /** @type {string | null} */ confirming: null,
  /** @type {string[]} */ columns: [],
  /** @type {unknown[][]} */ rows: [],
  totalRows: 0,
  /** Per sym: points (gap: the line breaks before it) and the first price, the 0% of the chart. */
  /** @type {Map<string, {x:number, y:number, gap:boolean}[]>} */ series: new Map(),
  /** @type {Map<string, number>} */ base: new Map(),
  /** Syms whose next point follows an outage (the connection dropped): no line into it. */
  /** @type {Set<string>} */ broken: new Set(),
  seq: 0,
  /** @type {number | undefined} */ countdownTimer: undefined,
  /** @type {number | undefined} */ endsTimer: undefined,
  /** A subscribe or switch not yet answered (it replaces current once answered, not before). */
  /** @type {null | {id:number, table:string, syms:string[], paid:boolean, preimage:string|null}} */ pending: null,
  /** The open renewal's hash, and when the last payment settled (to tell when the period ends). */
  /** @type {string | null} */ renewHash: null,
  paidAt: 0,
  drawPending: false,
};

// ---- connection --------------------------------------------------------------------------------

/** user:password for a tickerplant started with -u, kept for this tab only (docs/websocket.md, Credentials). */
const AUTH_KEY = 'tickerplant-credentials';

const base64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

/** The credentials as the subprotocol the gateway reads: auth.<base64url(user:password)>. */
function authProtocol(credentials) {
  return 'auth.' + base64(credentials).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** After a socket that never opened: asks GET ws whether credentials are needed, and if so asks the user. */
async function askCredentialsIfNeeded() {
  const saved = sessionStorage.getItem(AUTH_KEY);
  const headers = saved ? { authorization: 'Basic ' + base64(saved) } : {};
  let status = 0;
  try { status = (await fetch('ws', { headers, cache: 'no-store' })).status; } catch { return false; }
  if (status !== 401) return false;
  const user = prompt(saved ? 'Wrong user or password. User name:' : 'This tickerplant needs a user name:');
  if (user === null) return 'cancel';
  const password = prompt(`Password for ${user}:`) ?? '';
  sessionStorage.setItem(AUTH_KEY, `${user}:${password}`);
  return true;
}

function connect() {
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const saved = sessionStorage.getItem(AUTH_KEY);
  const ws = saved ? new WebSocket(url, ['tickerplant', authProtocol(saved)]) : new WebSocket(url);
  state.ws = ws;
  let opened = false;
  ws.addEventListener('open', () => { opened = true; state.reconnectMs = 1000; });
  ws.addEventListener('message', (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    handle(msg);
  });
  ws.addEventListener('close', async () => {
    if (state.ws !== ws) return;
    state.ws = null;
    const asked = opened ? false : await askCredentialsIfNeeded();
    if (asked === true) { connect(); return; }
    el.subscribe.disabled = true;
    el.reattach.disabled = true;
    for (const sym of state.series.keys()) state.broken.add(sym);
    state.pending = null;
    if (state.current) {
      state.current.live = false;
      state.current.stale = true;
      if (state.current.paid || state.current.ended) showPaid();
    }
    // Cancel on the sign-in prompt: do not ask again at every reconnect.
    if (asked === 'cancel') {
      setStatus('offline', 'Sign-in needed');
      el.signin.hidden = false;
      return;
    }
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

function showNote(text) {
  el.note.textContent = text;
  el.note.hidden = !text;
}

const describe = (table, syms) => `${table} ${syms.length ? syms.join(', ') : '(all symbols)'}`;

// ---- protocol ----------------------------------------------------------------------------------

/** Server error codes (q's) as a sentence with the next step. */
const ERRORS = {
  unpaid: 'No settled payment matches this preimage for the table and symbols chosen above: check both, or subscribe and pay.',
  expired: 'The paid period of this payment has ended: subscribe (or pay the renewal) to resume.',
  preimage: 'That is not a preimage: it is 64 hexadecimal characters (or 44 base64) from your wallet.',
  pending: 'Too many unpaid invoices are open: pay or let one expire (or unsubscribe), then try again.',
  'in use': 'This payment is streaming in another window or device; close it there, or wait and try again.',
  'lightning unavailable': 'Payments are unavailable right now (the Lightning node is down): try again in a minute.',
  invoice: 'The Lightning node could not create an invoice: try again in a minute.',
  'rate limit: slow down': 'Too many requests: wait a second and try again.',
};
const explain = (message) => ERRORS[message] ?? message;

/** The open subscription, kept for this tab so a reload re-attaches it (a paid one via subPaid). */
const SUB_KEY = 'tickerplant-subscription';
function saveSub() {
  const cur = state.current;
  if (!cur) { sessionStorage.removeItem(SUB_KEY); return; }
  sessionStorage.setItem(SUB_KEY, JSON.stringify({ table: cur.table, syms: cur.syms, paid: cur.paid, preimage: cur.preimage, hash: cur.hash }));
}
function restoreSub() {
  let saved;
  try { saved = JSON.parse(sessionStorage.getItem(SUB_KEY) ?? 'null'); } catch { saved = null; }
  if (!saved || typeof saved.table !== 'string' || !Array.isArray(saved.syms)) return;
  state.current = { id: 0, table: saved.table, syms: saved.syms, live: false, paid: !!saved.paid, hash: saved.hash ?? null,
    preimage: typeof saved.preimage === 'string' && PREIMAGE.test(saved.preimage) ? saved.preimage : null, stale: true, ended: false };
  el.table.replaceChildren(new Option(saved.table, saved.table));
  el.syms.value = saved.syms.join(', ');
  el.unsubscribe.hidden = false;
  if (state.current.paid) showPaid();
}

/** A request not yet answered: it replaces state.current only once its invoice or subscribed arrives. */
function promote(msg) {
  const p = state.pending;
  if (!p || msg.id !== p.id) return false;
  state.pending = null;
  const prev = state.current;
  if (prev && prev.table !== p.table) send({ op: 'unsubscribe', table: prev.table });
  state.current = { id: p.id, table: p.table, syms: p.syms, live: false, paid: p.paid, hash: null, preimage: p.preimage, stale: false, ended: false };
  if (!prev || prev.table !== p.table || !sameSyms(prev.syms, p.syms)) resetData(p.table);
  el.paid.hidden = true;
  el.unsubscribe.hidden = false;
  return true;
}

function periodEnded(cur) {
  cur.live = false;
  cur.paid = false;
  cur.ended = true;
  cur.preimage = null;
  state.confirming = null;
  if (!el.invoice.hidden && !(cur.hash && cur.hash === state.renewHash && !cur.stale)) hideInvoice();
  clearInterval(state.endsTimer);
  el.paidEnds.textContent = '';
  showPaid();
  showNote('Your paid period ended — pay the renewal (or Subscribe) to resume.');
  setStatus('ready', 'Paid period ended');
  saveSub();
}

function handle(msg) {
  switch (msg.type) {
    case 'hello': return onHello(msg);
    case 'subscribed': {
      promote(msg);
      const cur = state.current;
      if (!cur || msg.table !== cur.table || (msg.id !== undefined && msg.id !== cur.id)) return;
      cur.live = true;
      cur.ended = false;
      state.inUseRetries = 0;
      showError('');
      hideInvoice();
      if (cur.paid) showPaid();
      setStatus('live', `${cur.paid ? 'Paid — streaming' : 'Streaming'} ${describe(msg.table, msg.syms)}`);
      saveSub();
      return;
    }
    case 'invoice': {
      promote(msg);
      const cur = state.current;
      if (!cur || msg.id !== cur.id) return;
      cur.hash = msg.r_hash;
      cur.stale = false;
      showInvoice(msg, 'Pay to subscribe');
      setStatus('invoice', `Waiting for payment of ${msg.amount_sat} sats`);
      saveSub();
      return;
    }
    case 'renew': {
      const cur = state.current;
      if (!cur) return;
      cur.hash = msg.r_hash;
      cur.stale = false;
      state.renewHash = msg.r_hash;
      // The renewal comes min(period/10, 60 s) before the end; the time since paid tells the period.
      const since = state.paidAt ? (Date.now() - state.paidAt) / 1000 : Infinity;
      const lead = Math.min(since / 9, 60);
      startEnds(Date.now() + lead * 1000);
      showInvoice(msg, 'Renew your subscription');
      el.paid.hidden = false;
      setStatus('invoice', 'Your paid period ends soon: pay the renewal to keep streaming');
      saveSub();
      return;
    }
    case 'payment': {
      const cur = state.current;
      if (cur && msg.r_hash === cur.hash) {
        cur.preimage = msg.preimage;
        saveSub();
        // An invoice minted on an earlier connection (or a renewal after the period ended): its paid
        // message goes nowhere, so the proof re-attaches the stream.
        if (!cur.live && cur.stale) {
          cur.paid = true;
          cur.id = state.nextId++;
          send({ op: 'subPaid', id: cur.id, table: cur.table, syms: cur.syms, preimage: cur.preimage });
        }
      }
      setStatus('invoice', 'Payment sent — waiting for settlement…');
      return;
    }
    case 'paid': {
      const cur = state.current;
      if (!cur || msg.r_hash !== cur.hash || !msg.tables.includes(cur.table)) return;
      if (typeof msg.preimage === 'string') cur.preimage = msg.preimage;
      const focus = !el.invoice.hidden;
      cur.live = true;
      cur.paid = true;
      cur.ended = false;
      state.paidAt = Date.now();
      state.renewHash = null;
      clearInterval(state.endsTimer);
      el.paidEnds.textContent = '';
      hideInvoice();
      showNote('');
      showPaid();
      if (focus) el.paid.focus();
      setStatus('live', `Paid — streaming ${describe(cur.table, cur.syms)}`);
      saveSub();
      return;
    }
    case 'expired': {
      const cur = state.current;
      if (cur && msg.tables.includes(cur.table)) periodEnded(cur);
      return;
    }
    case 'upd':
      if (state.current && msg.table === state.current.table) addRows(msg.data);
      return;
    case 'end':
      setStatus(el.status.dataset.state ?? 'live', `End of day ${msg.date}; streaming continues`);
      return;
    case 'unsubscribed':
      return;
    case 'error': {
      // A refused new request leaves the subscription in place: its stream, preimage and paid box.
      if (state.pending && msg.id === state.pending.id) {
        state.pending = null;
        showError(explain(msg.message));
        const cur = state.current;
        if (cur && cur.live) setStatus('live', `${cur.paid ? 'Paid — streaming' : 'Streaming'} ${describe(cur.table, cur.syms)}`);
        else setStatus('ready', 'Subscription failed');
        return;
      }
      const cur = state.current;
      // After a reconnect the server may still hold the old, half-open connection: the proof of payment
      // is "in use" for a while (or another window holds it), so try again a few times.
      if (cur && msg.id === cur.id && cur.preimage && msg.message === 'in use' && state.inUseRetries < 3) {
        state.inUseRetries++;
        setStatus('pending', 'This payment is streaming in another window or device; close it there, or wait…');
        setTimeout(() => {
          if (state.current !== cur || cur.live) return;
          cur.id = state.nextId++;
          send({ op: 'subPaid', id: cur.id, table: cur.table, syms: cur.syms, preimage: cur.preimage });
        }, 5000);
        return;
      }
      if (cur && msg.id === cur.id && msg.message === 'expired') { periodEnded(cur); return; }
      showError(explain(msg.message));
      if (cur && msg.id === cur.id && !cur.live) {
        setStatus('ready', cur.preimage && !cur.hash ? 'The preimage was not accepted' : 'Subscription failed');
        if (cur.preimage && !cur.hash) { state.current = null; el.unsubscribe.hidden = true; el.paid.hidden = true; saveSub(); }
      }
      return;
    }
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
  el.reattach.disabled = msg.backend === 'none';
  const payments = { dev: 'dev Lightning node', lnd: 'Lightning', none: 'free (payments off)' }[msg.backend] ?? msg.backend;
  setStatus('ready', `Connected · ${payments}`);
  state.pending = null;
  // After a reconnect: a paid subscription comes back with its proof of payment, a free one as it was.
  const cur = state.current;
  if (!cur) return;
  if (state.columns.length === 0) resetData(cur.table);
  cur.id = state.nextId++;
  if (cur.preimage) {
    if (cur.paid) showPaid();
    send({ op: 'subPaid', id: cur.id, table: cur.table, syms: cur.syms, preimage: cur.preimage });
    return;
  }
  if (cur.ended) { showPaid(); return; }
  // An unpaid invoice died with the connection: the buyer may have paid it meanwhile from a wallet.
  if (cur.hash && msg.backend !== 'none') {
    showNote('A new invoice is shown below. If you paid the earlier invoice, paste your wallet\'s preimage below to re-attach.');
    el.reattachBox.open = true;
    el.reattachBox.classList.add('highlight');
  }
  cur.hash = null;
  hideInvoice();
  send({ op: 'subscribe', id: cur.id, table: cur.table, syms: cur.syms });
}

const chosenSyms = () => [...new Set(el.syms.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
const sameSyms = (a, b) => a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');

function subscribe(event) {
  event.preventDefault();
  showError('');
  const table = el.table.value;
  const syms = chosenSyms();
  const prev = state.current;
  const key = `${table} ${[...syms].sort().join(',')}`;
  // Pressing Subscribe again must not throw away what was paid for: the same request is a no-op, a
  // different one asks first (a second press confirms) because it needs a new payment.
  if (prev && prev.paid) {
    if (prev.table === table && sameSyms(prev.syms, syms)) {
      state.confirming = null;
      showNote(`Already paid for ${describe(table, prev.syms)}: nothing to do.`);
      return;
    }
    if (state.confirming !== key) {
      state.confirming = key;
      showNote(`You have paid for ${describe(prev.table, prev.syms)}. Subscribing to ${describe(table, syms)} ` +
        'replaces it and needs a new payment: press Subscribe again to confirm.');
      return;
    }
  }
  // Syms are case-sensitive: aapl never trades. Warn before an invoice is minted for it.
  const odd = syms.filter((s) => !/^[A-Z0-9.]+$/.test(s));
  if (odd.length && state.confirming !== 'case ' + key) {
    state.confirming = 'case ' + key;
    showNote(odd.map((s) => `${s}: symbols are case-sensitive; did you mean ${s.toUpperCase()}?`).join(' ') +
      ' Press Subscribe again to subscribe as typed.');
    return;
  }
  state.confirming = null;
  showNote('');
  el.reattachBox.classList.remove('highlight');
  const id = state.nextId++;
  state.pending = { id, table, syms, paid: false, preimage: null };
  setStatus('pending', `Subscribing to ${describe(table, syms)}…`);
  send({ op: 'subscribe', id, table, syms });
}

/** A preimage as hex: 64 hex characters, or the 44-character base64 that `tickerplant pay` prints. */
function preimageHex(text) {
  if (PREIMAGE.test(text)) return text.toLowerCase();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return null;
  try {
    const bytes = atob(text.replace(/-/g, '+').replace(/_/g, '/').replace(/=?$/, '='));
    if (bytes.length !== 32) return null;
    return [...bytes].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  } catch { return null; }
}

/** A payment made elsewhere (another wallet, another device): its preimage re-attaches the paid stream. */
function reattach(event) {
  event.preventDefault();
  showError('');
  showNote('');
  const preimage = preimageHex(el.preimage.value.trim());
  if (!preimage) {
    showError('A preimage is 64 hexadecimal characters (0-9, a-f), or 44 base64 characters.');
    return;
  }
  el.reattachBox.classList.remove('highlight');
  const table = el.table.value;
  const syms = chosenSyms();
  const prev = state.current;
  if (prev && prev.table !== table) send({ op: 'unsubscribe', table: prev.table });
  const id = state.nextId++;
  state.pending = null;
  state.current = { id, table, syms, live: false, paid: true, hash: null, preimage, stale: false, ended: false };
  state.confirming = null;
  resetData(table);
  hideInvoice();
  el.paid.hidden = true;
  el.unsubscribe.hidden = false;
  setStatus('pending', `Re-attaching ${describe(table, syms)}…`);
  send({ op: 'subPaid', id, table, syms, preimage });
}

function unsubscribe() {
  const cur = state.current;
  if (!cur) return;
  // A paid period is not refunded: ask first, and keep the proof so it can be re-attached.
  if (cur.paid && state.confirming !== 'unsubscribe') {
    state.confirming = 'unsubscribe';
    showNote(`Unsubscribing stops the paid stream of ${describe(cur.table, cur.syms)} (no refund): press Unsubscribe again to confirm.`);
    return;
  }
  state.confirming = null;
  send({ op: 'unsubscribe', table: cur.table });
  state.current = null;
  state.pending = null;
  saveSub();
  hideInvoice();
  clearInterval(state.endsTimer);
  el.paid.hidden = true;
  el.unsubscribe.hidden = true;
  showNote(cur.paid && cur.preimage
    ? `Unsubscribed. Your preimage ${cur.preimage} re-attaches ${describe(cur.table, cur.syms)} for the rest of the paid period (Re-attach below).`
    : '');
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

/** The paid box says whether data is flowing: streaming, disconnected (reconnecting), or the period ended. */
function showPaid() {
  const cur = state.current;
  if (!cur) return;
  const streaming = cur.live && state.ws !== null && state.ws.readyState === WebSocket.OPEN;
  el.paid.dataset.state = streaming ? 'streaming' : 'stopped';
  el.paidState.textContent = cur.ended ? 'Paid period ended — not streaming'
    : streaming ? 'Paid — streaming'
    : state.ws === null ? 'Paid — not streaming (disconnected, reconnecting…)' : 'Paid — re-attaching…';
  el.paidWhat.textContent = describe(cur.table, cur.syms);
  el.paidPreimage.textContent = cur.preimage ?? '';
  el.paidProof.hidden = !cur.preimage || cur.ended;
  el.paid.hidden = false;
}

/** When the paid period ends (known once the renewal arrives). */
function startEnds(at) {
  clearInterval(state.endsTimer);
  const tick = () => {
    const left = Math.max(0, Math.round((at - Date.now()) / 1000));
    el.paidEnds.textContent = left > 0 ? `Paid period ends in ${formatDuration(left)} unless renewed.` : 'Paid period ending…';
  };
  tick();
  state.endsTimer = window.setInterval(tick, 1000);
}

async function copyPreimage() {
  try {
    await navigator.clipboard.writeText(el.paidPreimage.textContent ?? '');
    el.copyPreimage.textContent = 'Copied';
  } catch {
    getSelection()?.selectAllChildren(el.paidPreimage);
  }
  setTimeout(() => { el.copyPreimage.textContent = 'Copy'; }, 1500);
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
  state.base = new Map();
  state.broken = new Set();
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
      if (!points) { points = []; state.series.set(sym, points); state.base.set(sym, y); }
      points.push({ x, y, gap: state.broken.delete(sym) });
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
  // Numeric columns (as the newest row has them) are right-aligned, headers included.
  const newest = state.rows[0];
  el.rows.tHead?.rows[0]?.querySelectorAll('th').forEach((th, i) => {
    th.classList.toggle('num', typeof newest?.[i] === 'number');
  });
  el.rowCount.textContent = state.totalRows === 0 ? '(none yet)'
    : `(${state.rows.length} shown of ${state.totalRows.toLocaleString('en')} received)`;
}

// ---- chart -------------------------------------------------------------------------------------

const colorOf = (sym) => COLORS[[...state.series.keys()].indexOf(sym) % COLORS.length];

/** % change of a price from the sym's first price. */
const change = (sym, y) => {
  const base = state.base.get(sym);
  return base ? (y / base - 1) * 100 : 0;
};
const formatChange = (pct) => `${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(2)}%`;

function renderLegend() {
  el.legend.replaceChildren(...[...state.series].map(([sym, points]) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colorOf(sym);
    const last = points[points.length - 1];
    li.dataset.sym = sym;
    li.append(swatch, last ? `${sym} ${formatCell('price', last.y)} (${formatChange(change(sym, last.y))})` : sym);
    return li;
  }));
  const syms = [...state.series.keys()];
  el.chart.setAttribute('aria-label', syms.length ? `Price chart for ${syms.join(', ')}` : 'Price chart: no data yet');
}

/** Points after which a sym's line breaks: an outage (reconnect) or a time gap far above its usual spacing. */
function breaksOf(points) {
  const dx = [];
  for (let i = 1; i < points.length; i++) dx.push(points[i].x - points[i - 1].x);
  const usual = [...dx].sort((a, b) => a - b)[Math.floor(dx.length / 2)] ?? 0;
  const limit = Math.max(MIN_GAP_SECONDS, usual * GAP_FACTOR);
  return points.map((p, i) => i > 0 && (p.gap || (state.columns.includes('time') && dx[i - 1] > limit)));
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
  const series = [...state.series].map(([sym, points]) => ({
    sym, points: points.map((p) => ({ x: p.x, y: change(sym, p.y) })), breaks: breaksOf(points),
  }));
  const all = series.flatMap((s) => s.points);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#64748b';
  if (all.length === 0) {
    ctx.textAlign = 'center';
    ctx.fillText('Prices appear here once data arrives', width / 2, height / 2);
    return;
  }
  const pad = { left: 58, right: 12, top: 12, bottom: 28 };
  let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  let [y0, y1] = [Math.min(0, ...all.map((p) => p.y)), Math.max(0, ...all.map((p) => p.y))];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  const margin = (y1 - y0) * 0.08 || 0.05;
  y0 -= margin; y1 += margin;
  const sx = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);

  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    ctx.strokeStyle = '#e2e8f0';
    ctx.beginPath();
    ctx.moveTo(pad.left, sy(y));
    ctx.lineTo(width - pad.right, sy(y));
    ctx.stroke();
    ctx.fillText(formatChange(y), pad.left - 8, sy(y));
  }
  // The 0% line: every sym starts there.
  ctx.strokeStyle = '#94a3b8';
  ctx.beginPath();
  ctx.moveTo(pad.left, sy(0));
  ctx.lineTo(width - pad.right, sy(0));
  ctx.stroke();
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const label = (x) => (state.columns.includes('time') && x >= 0 && x < 864000 ? clock(x) : '');
  ctx.textAlign = 'left';
  ctx.fillText(label(x0), pad.left, height - pad.bottom + 8);
  ctx.textAlign = 'right';
  ctx.fillText(label(x1), width - pad.right, height - pad.bottom + 8);

  for (const { sym, points, breaks } of series) {
    ctx.strokeStyle = colorOf(sym);
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((p, i) => (i === 0 || breaks[i] ? ctx.moveTo(sx(p.x), sy(p.y)) : ctx.lineTo(sx(p.x), sy(p.y))));
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
el.reattachForm.addEventListener('submit', reattach);
el.copyPreimage.addEventListener('click', copyPreimage);
el.signin.addEventListener('click', () => { el.signin.hidden = true; state.reconnectMs = 1000; connect(); });
window.addEventListener('resize', scheduleDraw);
resetData('');
restoreSub();
connect();
