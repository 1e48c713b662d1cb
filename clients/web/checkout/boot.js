// The checkout: keyboard first (every action has a key, shown on its button), usable by touch.
// The page renders the daemon's sale and sends intents; it never computes a total.
import { Gateway } from '../lib/gateway.js';
import { html, render, useState, useEffect, useLayoutEffect, useRef } from '../lib/html.js';
import { t, useLang, loadI18n, setLang, getLang } from '../lib/i18n.js';
import { LangToggle } from '../lib/components/lang.js';
import { yuan, parseYuan, qtyText, grams, errText } from '../lib/format.js';
import { Store } from '../lib/store.js';
import { toast, Toasts, beep } from '../lib/components/toasts.js';
import { OfflineBanner, useGwState } from '../lib/components/connection.js';
import { PairingScreen } from '../lib/components/pairing.js';
import { LoginScreen } from '../lib/components/login.js';
import { ApprovalDialog, withApproval, approvals } from '../lib/components/approval.js';
import { trackDevices, deviceSummary } from '../lib/components/devices.js';
import { Clock } from '../lib/components/clock.js';

const gw = new Gateway({ name: 'checkout', kind: 'checkout' });
window.gw = gw; // for the browser tests and the curious

const store = new Store({
  operator: null,       // {operator, name, role}
  sale: null,           // the sale as the daemon sends it
  selected: null,       // line_id
  devices: {},
  scale: null,          // latest scale.reading of device `scale`
  mode: 'sale',         // 'sale' | 'refund'
  tender: false,        // tender screen open
  dialog: null,         // {kind, ...}
  help: false,
  available: {},        // method -> bool (system.methods, at every connect)
  lastReceipt: null,
});
window.posStore = store;

let credentials = null; // {operator, pin}: kept in memory only, to log in again after a reconnect

// -- connection --------------------------------------------------------------------------------
const loadDevices = trackDevices(gw, store);
gw.subscribe(['sale', 'devices', 'scale', 'printer', 'drawer', 'scanner', 'alerts']);

gw.onConnect = async ({ restarted }) => {
  if (gw.welcome && gw.welcome.safe_mode) return;  // nothing to load: App shows why
  if (credentials) {
    try {
      const who = await gw.call('auth.login', credentials, { raw: true });
      store.set({ operator: who });
    } catch (e) {
      credentials = null;
      store.set({ operator: null });
      toast(errText(e), 'error');
    }
  }
  await loadDevices();
  const sc = store.state.devices.scale;
  if (sc && sc.status && sc.status.grams !== undefined) store.set({ scale: { device: 'scale', ...sc.status } });
  servedMethods();
  if (store.state.operator) await refreshSale({ raw: true });
  if (restarted) toast(t('offline.restarted'), 'info');
};

// The methods whose buttons this page disables when the daemon does not serve them.
const OPTIONAL = ['sale.refund', 'sale.suspended', 'receipt.reprint', 'sale.member', 'sale.price',
  'sale.discount', 'sale.void'];

function servedMethods() {
  store.set({ available: Object.fromEntries(OPTIONAL.map(m => [m, gw.can(m)])) });
}

async function refreshSale(opts = {}) {
  try {
    const res = await gw.call('sale.current', {}, opts);
    setSale(res && res.sale !== undefined ? res.sale : res);
  } catch (e) {
    if (e.code !== 'unknown_method') toast(errText(e), 'error');
  }
}

function setSale(sale) {
  const s = store.state;
  if (sale && sale.id === null) sale = null; // the daemon's "no sale yet"
  if (s.sale && sale && s.sale.id === sale.id && (s.sale.version ?? 0) > (sale.version ?? 0)) return;
  const known = s.sale && sale && s.sale.id === sale.id;
  if (sale && (sale.state === 'completed' || sale.state === 'voided' || sale.state === 'suspended')) {
    // A finished sale is shown (with its change) only when this page saw it finish.
    if (!(known && sale.state === 'completed')) {
      if (!(s.tender && s.sale && s.sale.state === 'completed')) store.set({ sale: null, selected: null, tender: false });
      return;
    }
  }
  if (s.tender && s.sale && s.sale.state === 'completed' && !known) {
    if (!sale || !sale.lines.length) return; // keep showing the change until the next scan
  }
  const patch = { sale };
  const lines = sale ? sale.lines.filter(l => !l.voided) : [];
  if (!sale || !lines.find(l => l.line_id === s.selected)) {
    patch.selected = lines.length ? lines[lines.length - 1].line_id : null;
  }
  if (sale && sale.added) patch.selected = sale.added;
  else if (known && sale.lines.length > s.sale.lines.length) {
    patch.selected = sale.lines[sale.lines.length - 1].line_id; // a new line: select it
  }
  patch.tender = !!(sale && sale.lines.length &&
    (sale.state === 'tendering' || sale.state === 'completed' || (s.tender && sale.state === 'open')));
  store.set(patch);
}

gw.on('sale.updated', data => {
  const sale = data && data.sale !== undefined ? data.sale : data;
  if (!store.state.operator) return;
  setSale(sale);
});
gw.on('scale.reading', d => { if (d.device === 'scale') store.set({ scale: d }); });
gw.on('scanner.error', d => {
  beep(330, 220, 2);
  toast(t('alert.unknown_barcode', { code: d.data || d.code || '' }), 'error', 5000);
});
gw.on('alerts.raised', d => {
  beep(660, 200, 2);
  const key = `alert.${d.kind}`;
  const text = t(key) !== key ? t(key, d) : (d.message || d.kind);
  toast(text, 'warn', 8000);
});
gw.on('printer.status', d => {
  if (d.paper === 'empty') { beep(440, 250, 2); toast(t('dev.printer.paper_empty'), 'error', 8000); }
});

// -- actions ------------------------------------------------------------------------------------
function call(method, params) {
  return gw.call(method, params);
}

async function act(method, params = {}, { quiet = false } = {}) {
  try {
    const res = await withApproval(p => call(method, p), params);
    if (res && res.lines && res.id) setSale(res);
    else if (res && res.sale && res.sale.lines) setSale(res.sale);
    return res;
  } catch (e) {
    if (!quiet) {
      beep(330, 200);
      if (e.code === 'unknown_method') toast(t('err.not_available'), 'error');
      else toast(errText(e), 'error', 5000);
    }
    throw e;
  }
}
const tryAct = (...a) => act(...a).catch(() => null);

function selectedLine() {
  const { sale, selected } = store.state;
  return sale && sale.lines.find(l => l.line_id === selected && !l.voided);
}

function hasLines() {
  const { sale } = store.state;
  return !!(sale && sale.lines.some(l => !l.voided));
}

async function addCode(text) {
  let code = text.trim();
  if (!code) return;
  let qty;
  const m = code.match(/^(\d{1,4})\*(.+)$/); // "3*690..." = three of them
  if (m) { qty = parseInt(m[1], 10) * 1000; code = m[2]; }
  if (store.state.mode === 'refund') {
    await refund(code);
    return;
  }
  const params = { barcode: code };
  if (qty) params.qty = qty;
  await tryAct('sale.add', params);
}

async function refund(receiptNo) {
  const res = await tryAct('sale.refund', { receipt_no: receiptNo });
  if (res) {
    const amount = res.refunded ?? res.amount ?? res.total ?? (res.sale && res.sale.total);
    toast(t('refund.done', { amount: yuan(amount ?? 0) }), 'ok', 6000);
    store.set({ mode: 'sale', lastReceipt: res });
    await refreshSale();
  }
}

function prompt(kind, opts = {}) {
  store.set({ dialog: { kind, ...opts } });
}

const actions = {
  help: () => store.set({ help: !store.state.help }),
  qty: (input) => {
    const line = selectedLine();
    if (!line) return toast(t('msg.select_line'), 'warn');
    if (input) return setQty(line, input);
    prompt('qty', { line });
  },
  voidLine: () => {
    const line = selectedLine();
    if (!line) return toast(t('msg.select_line'), 'warn');
    tryAct('sale.void_line', { line_id: line.line_id });
  },
  discount: () => {
    const line = selectedLine();
    prompt('discount', { line });
  },
  price: () => {
    const line = selectedLine();
    if (!line) return toast(t('msg.select_line'), 'warn');
    prompt('price', { line });
  },
  suspend: async () => {
    if (hasLines()) {
      const res = await tryAct('sale.suspend', {});
      if (res) { toast(t('msg.suspended'), 'ok'); await refreshSale(); }
    } else {
      try {
        const res = await call('sale.suspended', {});
        const list = res.sales || res.suspended || res || [];
        prompt('resume', { list: Array.isArray(list) ? list : [] });
      } catch (e) { toast(errText(e), 'error'); }
    }
  },
  voidSale: () => {
    if (!store.state.sale || !store.state.sale.lines.length) return;
    prompt('void');
  },
  refundMode: () => {
    if (store.state.available['sale.refund'] === false) return toast(t('err.not_available'), 'warn');
    store.set({ mode: store.state.mode === 'refund' ? 'sale' : 'refund' });
  },
  member: (input) => {
    if (input) return tryAct('sale.member', { code: input });
    prompt('member');
  },
  reprint: async () => {
    const res = await tryAct('receipt.reprint', {});
    if (res) toast(t('msg.reprinted'), 'ok');
  },
  pay: () => {
    if (!hasLines()) return toast(t('msg.empty_sale'), 'warn');
    store.set({ tender: true });
  },
  logout: async () => {
    await gw.call('auth.logout', {}).catch(() => null);
    credentials = null;
    store.set({ operator: null, sale: null, tender: false, dialog: null });
  },
  lang: () => setLang(getLang() === 'zh' ? 'en' : 'zh'),
};

async function setQty(line, input) {
  let qty;
  if (line.unit === 'kg') {
    const g = parseYuan(input); // kg with up to 2 decimals is not enough: accept grams too
    const m = String(input).match(/^(\d+)(?:\.(\d{1,3}))?$/);
    if (!m) return toast(t('msg.bad_number'), 'warn');
    qty = parseInt(m[1], 10) * 1000 + parseInt((m[2] || '').padEnd(3, '0') || '0', 10);
    void g;
  } else {
    if (!/^\d{1,5}$/.test(input)) return toast(t('msg.bad_number'), 'warn');
    qty = parseInt(input, 10) * 1000;
  }
  if (qty <= 0) return tryAct('sale.void_line', { line_id: line.line_id });
  await tryAct('sale.set_qty', { line_id: line.line_id, qty });
}

const FKEYS = [
  { key: 'F1', act: 'help', label: 'key.help' },
  { key: 'F2', act: 'qty', label: 'key.qty', needsLine: true },
  { key: 'F3', act: 'voidLine', label: 'key.void_line', needsLine: true },
  { key: 'F4', act: 'discount', label: 'key.discount', needsSale: true, method: 'sale.discount' },
  { key: 'F5', act: 'price', label: 'key.price', needsLine: true, method: 'sale.price' },
  { key: 'F6', act: 'suspend', label: 'key.suspend' },
  { key: 'F7', act: 'voidSale', label: 'key.void_sale', needsSale: true, method: 'sale.void' },
  { key: 'F8', act: 'refundMode', label: 'key.refund', method: 'sale.refund' },
  { key: 'F9', act: 'member', label: 'key.member', needsSale: true, method: 'sale.member' },
  { key: 'F10', act: 'reprint', label: 'key.reprint', method: 'receipt.reprint' },
  { key: 'F12', act: 'pay', label: 'key.pay', needsSale: true, primary: true },
];

// -- keyboard -----------------------------------------------------------------------------------
let mainInput = null;

function focusMain() {
  const s = store.state;
  if (mainInput && !s.dialog && !approvals.state.open && !s.tender && s.operator) mainInput.focus();
}

window.addEventListener('keydown', (e) => {
  const s = store.state;
  if (!s.operator) return;
  if (e.altKey && (e.key === 'l' || e.key === 'L')) { e.preventDefault(); actions.lang(); return; }
  if (e.altKey && (e.key === 'q' || e.key === 'Q')) { e.preventDefault(); actions.logout(); return; }
  if (approvals.state.open || s.dialog) {
    if (e.key === 'Escape') { e.preventDefault(); closeDialog(); }
    return; // the dialog's own form handles Enter
  }
  if (s.tender) return; // the tender screen has its own keys
  if (e.key === 'Escape') {
    e.preventDefault();
    if (s.help) return store.set({ help: false });
    if (s.mode === 'refund') return store.set({ mode: 'sale' });
    if (mainInput) mainInput.value = '';
    return;
  }
  if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
    e.preventDefault();
    const lines = s.sale ? s.sale.lines.filter(l => !l.voided) : [];
    if (!lines.length) return;
    let i = lines.findIndex(l => l.line_id === s.selected);
    i = e.key === 'ArrowUp' ? Math.max(0, i - 1) : Math.min(lines.length - 1, i + 1);
    store.set({ selected: lines[i].line_id });
    return;
  }
  const fk = FKEYS.find(k => k.key === e.key);
  if (fk) {
    e.preventDefault();
    const input = mainInput ? mainInput.value.trim() : '';
    if (mainInput && (fk.act === 'qty' || fk.act === 'member')) mainInput.value = '';
    actions[fk.act](input);
  }
});

function closeDialog() {
  const d = store.state.dialog;
  store.set({ dialog: null });
  if (d && d.resolve) d.resolve(null);
  setTimeout(focusMain, 0);
}

// -- views ----------------------------------------------------------------------------------------
function Header() {
  useLang();
  const s = store.use();
  const info = gw.welcome;
  return html`<header class="topbar">
    <div class="brand">🛒 ${t('app.checkout')}</div>
    <div class="till">${info ? `${info.till.store} · ${info.till.till}` : ''}</div>
    ${s.mode === 'refund' && html`<div class="mode-badge refund" data-testid="refund-badge">${t('mode.refund')}</div>`}
    <div class="spacer"></div>
    ${s.operator && html`<div class="who" data-testid="operator">👤 ${s.operator.name} <span class="muted">(${s.operator.operator})</span></div>`}
    <${Clock} />
    <${LangToggle} />
    ${s.operator && html`<button class="ghost" onClick=${actions.logout} title="Alt+Q">${t('key.logout')} <kbd>Alt+Q</kbd></button>`}
  </header>`;
}

const BARCODE_ICON = html`<svg width="34" height="26" viewBox="0 0 34 26" aria-hidden="true">
  ${[0, 3, 5, 9, 12, 14, 18, 20, 23, 27, 29, 32].map((x, i) => html`<rect x=${x} y="2" width=${i % 3 === 0 ? 2 : 1} height="22" fill="currentColor" />`)}
</svg>`;

function ScanInput() {
  useLang();
  const s = store.use();
  const ref = useRef();
  useEffect(() => { mainInput = ref.current; focusMain(); return () => { mainInput = null; }; }, []);
  useEffect(() => { focusMain(); }, [s.dialog, s.tender]);
  function onKeyDown(e) {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const v = ref.current.value.trim();
    ref.current.value = '';
    if (!v) { if (s.mode === 'sale') actions.pay(); return; }
    addCode(v);
  }
  return html`<div class=${`scanbar ${s.mode}`}>
    <span class="scan-icon">${s.mode === 'refund' ? '↩' : BARCODE_ICON}</span>
    <input ref=${ref} data-testid="scan-input" class="scan-input" autocomplete="off"
      inputmode="numeric" placeholder=${s.mode === 'refund' ? t('scan.refund_placeholder') : t('scan.placeholder')}
      onKeyDown=${onKeyDown} onBlur=${() => setTimeout(focusMain, 50)} />
    <button class="primary" onMouseDown=${e => e.preventDefault()}
      onClick=${() => { const v = ref.current.value; ref.current.value = ''; v ? addCode(v) : actions.pay(); }}>
      <kbd>Enter</kbd></button>
  </div>`;
}

function Lines() {
  useLang();
  const s = store.use();
  const sale = s.sale;
  const listRef = useRef();
  useEffect(() => {
    const el = listRef.current && listRef.current.querySelector('.line.selected');
    if (el) el.scrollIntoView({ block: 'nearest' });
  }, [s.selected, sale && sale.lines.length]);
  if (!sale || !sale.lines.length) {
    return html`<div class="lines empty" data-testid="lines">
      <div class="empty-hint">
        <div class="big-icon">🛒</div>
        <div>${s.mode === 'refund' ? t('refund.hint') : t('sale.empty')}</div>
        ${s.mode !== 'refund' && html`<div class="muted small">${t('sale.empty_hint')}</div>`}
      </div></div>`;
  }
  let n = 0;
  return html`<div class="lines" data-testid="lines" ref=${listRef}>
    <table>
      <thead><tr>
        <th class="num">#</th><th>${t('line.name')}</th><th class="r">${t('line.qty')}</th>
        <th class="r">${t('line.price')}</th><th class="r">${t('line.amount')}</th>
      </tr></thead>
      <tbody>
        ${sale.lines.map(l => {
          if (!l.voided) n += 1;
          const sel = l.line_id === s.selected;
          const explain = (l.explain || []).filter(x => x !== 'voided');
          return html`<tr key=${l.line_id} data-testid="line" data-sku=${l.sku}
              class=${`line ${sel ? 'selected' : ''} ${l.voided ? 'voided' : ''}`}
              onClick=${() => !l.voided && store.set({ selected: l.line_id })}>
            <td class="num">${l.voided ? '✕' : n}</td>
            <td class="name">
              <div>${l.name}${l.unit === 'kg' ? html` <span class="tag">⚖ ${t('line.weighed')}</span>` : ''}</div>
              ${explain.length > 0 && html`<div class="explain" data-testid="explain">${explain.map(x => html`<span>🏷 ${x}</span>`)}</div>`}
              ${!explain.length && (l.promo || []).length > 0 && html`<div class="explain">${[].concat(l.promo).map(p => html`<span>🏷 ${p.label || p.name || p}</span>`)}</div>`}
            </td>
            <td class="r qty">${qtyText(l)}</td>
            <td class="r">${yuan(l.unit_price)}${l.unit === 'kg' ? '/kg' : ''}</td>
            <td class="r amount">
              ${l.discount ? html`<div class="strike">${yuan(l.amount)}</div>` : ''}
              <div>${yuan(l.net ?? (l.amount - (l.discount || 0)))}</div>
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

function Totals() {
  useLang();
  const s = store.use();
  const sale = s.sale;
  const count = sale ? sale.lines.filter(l => !l.voided).length : 0;
  return html`<div class="totals card" data-testid="totals">
    <div class="total-label">${t('sale.total')}</div>
    <div class="total-big" data-testid="total">${yuan(sale ? sale.total : 0)}</div>
    <div class="kv"><span>${t('sale.items')}</span><span>${count}</span></div>
    <div class="kv"><span>${t('sale.subtotal')}</span><span>${yuan(sale ? sale.subtotal : 0)}</span></div>
    <div class="kv discount"><span>${t('sale.discount')}</span><span data-testid="sale-discount">${yuan(sale ? -(sale.discount || 0) : 0)}</span></div>
    ${sale && sale.paid > 0 && html`<div class="kv"><span>${t('sale.paid')}</span><span>${yuan(sale.paid)}</span></div>`}
    ${sale && (sale.explain || []).length > 0 && html`<div class="explain">${sale.explain.map(x => html`<span>🏷 ${x}</span>`)}</div>`}
    <div class="member-row" data-testid="member">
      ${sale && sale.member
        ? html`<span class="member">⭐ ${sale.member.name || sale.member.id || sale.member.code}
            ${sale.member.tier ? html`<span class="tag">${sale.member.tier}</span>` : ''}
            ${sale.member.points !== undefined ? html`<span class="muted"> ${t('member.points', { n: sale.member.points })}</span>` : ''}</span>`
        : html`<span class="muted">${t('member.none')} <kbd>F9</kbd></span>`}
    </div>
  </div>`;
}

function Weight() {
  useLang();
  const s = store.use();
  const r = s.scale;
  const line = selectedLine();
  const active = (r && r.grams > 0) || (line && line.unit === 'kg');
  return html`<div class=${`weight card ${active ? 'active' : ''}`} data-testid="weight">
    <div class="weight-label">⚖ ${t('scale.weight')}</div>
    <div class="weight-value" data-testid="weight-value">${r ? grams(r.grams) : '—'}</div>
    <div class=${`weight-state ${r && r.stable ? 'stable' : 'unstable'}`}>
      ${r ? (r.over ? t('dev.scale.over') : r.stable ? t('scale.stable') : t('scale.unstable')) : t('dev.state.offline')}
      ${r && r.tare_grams ? html` · ${t('scale.tare')} ${grams(r.tare_grams)}` : ''}
    </div>
  </div>`;
}

function FunctionKeys() {
  useLang();
  const s = store.use();
  const sale = s.sale && s.sale.lines.some(l => !l.voided);
  return html`<div class="fkeys">
    ${FKEYS.map(k => {
      const unavailable = k.method && s.available[k.method] === false;
      const disabled = unavailable || (k.needsLine && !selectedLine()) || (k.needsSale && !sale);
      let label = t(k.label);
      if (k.act === 'suspend') label = sale ? t('key.suspend') : t('key.resume');
      if (k.act === 'refundMode' && s.mode === 'refund') label = t('key.refund_exit');
      return html`<button key=${k.key} class=${`fkey ${k.primary ? 'primary' : ''} ${s.mode === 'refund' && k.act === 'refundMode' ? 'on' : ''}`}
        data-testid=${`fkey-${k.key}`} disabled=${disabled} title=${unavailable ? t('err.not_available') : ''}
        onMouseDown=${e => e.preventDefault()}
        onClick=${() => { const v = mainInput ? mainInput.value.trim() : ''; if (mainInput && (k.act === 'qty' || k.act === 'member')) mainInput.value = ''; actions[k.act](v); }}>
        <kbd>${k.key}</kbd><span>${label}</span></button>`;
    })}
  </div>`;
}

function StatusBar() {
  useLang();
  const s = store.use();
  const state = useGwState(gw);
  const items = ['scanner', 'scale', 'printer', 'drawer'].map(id => {
    const d = s.devices[id];
    const sum = state === 'online' ? deviceSummary(d) : { cls: 'off', text: '?' };
    return html`<span class=${`dev ${sum.cls}`} data-testid=${`dev-${id}`} title=${d && d.error ? d.error : ''}>
      <span class="dot"></span>${t(`dev.${id}`)}: ${sum.text}</span>`;
  });
  return html`<footer class="statusbar" data-testid="statusbar">
    ${items}
    <span class="spacer"></span>
    <span class=${`dev ${state === 'online' ? 'ok' : 'bad'}`} data-testid="link"><span class="dot"></span>${t(`link.${state}`)}</span>
    <span class="muted">F1 ${t('key.help')}</span>
  </footer>`;
}

// -- tender screen ------------------------------------------------------------------------------
function nextNote(due, step) {
  return Math.ceil(due / (step * 100)) * step * 100; // display suggestion only
}

function TenderScreen() {
  useLang();
  const s = store.use();
  const sale = s.sale;
  const ref = useRef();
  const [busy, setBusy] = useState(false);
  useEffect(() => { ref.current && ref.current.focus(); });
  if (!s.tender || !sale) return null;
  const completed = sale.state === 'completed';
  const due = sale.due ?? sale.total;
  const cashDue = sale.cash_due ?? due;

  async function tender(method, amount) {
    if (busy) return;
    setBusy(true);
    const params = { method };
    if (amount !== undefined && amount !== null) params.amount = amount;
    if (ref.current) ref.current.value = ''; // cleared now: the cashier may type the next amount
    try { await act('sale.tender', params); } catch (e) { /* toast shown */ } finally {
      setBusy(false);
    }
  }
  function typed() {
    const v = ref.current ? ref.current.value.trim() : '';
    if (!v) return null;
    const fen = parseYuan(v);
    if (fen === null || fen <= 0) { toast(t('msg.bad_amount'), 'warn'); return undefined; }
    return fen;
  }
  function done() {
    store.set({ tender: false, sale: null, selected: null });
    refreshSale();
  }
  const quick = [];
  if (!completed) {
    quick.push({ key: 'F1', label: t('tender.exact'), amount: cashDue });
    for (const [k, step] of [['F2', 10], ['F3', 50], ['F4', 100]]) {
      const a = nextNote(cashDue, step);
      if (!quick.some(q => q.amount === a)) quick.push({ key: k, label: yuan(a), amount: a });
    }
  }
  const methods = [
    { key: 'F5', method: 'card', label: t('tender.card'), icon: '💳' },
    { key: 'F6', method: 'paycode', label: t('tender.paycode'), icon: '📱' },
    { key: 'F7', method: 'voucher', label: t('tender.voucher'), icon: '🎫' },
  ];
  function other(m) {
    // card: the typed amount (or the rest); payment code and voucher: the typed text is the code
    if (m.method === 'card') {
      const a = typed();
      if (a !== undefined) tender('card', a ?? undefined);
      return;
    }
    const code = ref.current ? ref.current.value.trim() : '';
    if (!code) { toast(t(m.method === 'paycode' ? 'tender.paycode_hint' : 'tender.voucher_hint'), 'warn'); return; }
    tenderCode(m.method === 'voucher' ? 'voucher' : null, code);
  }
  async function tenderCode(method, code) {
    if (busy) return;
    setBusy(true);
    if (ref.current) ref.current.value = '';
    try { await act('sale.tender', method ? { method, code } : { code }); } catch (e) { /* toast shown */ } finally {
      setBusy(false);
    }
  }
  function onKeyDown(e) {
    if (approvals.state.open) return;
    if (completed) {
      if (e.key === 'Enter' || e.key === 'Escape' || e.key === 'F12') { e.preventDefault(); done(); }
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      if (!sale.tenders || !sale.tenders.length) store.set({ tender: false });
      else toast(t('tender.cannot_leave'), 'warn');
      return;
    }
    if (e.key === 'Enter' || e.key === 'F12') {
      e.preventDefault();
      const a = typed();
      if (a === undefined) return;
      tender('cash', a ?? cashDue);
      return;
    }
    const q = quick.find(x => x.key === e.key);
    if (q) { e.preventDefault(); tender('cash', q.amount); return; }
    const m = methods.find(x => x.key === e.key);
    if (m) { e.preventDefault(); other(m); }
  }
  return html`<div class="modal-back tender-back" onKeyDown=${onKeyDown}>
    <div class="modal tender" data-testid="tender">
      ${completed ? html`
        <div class="change-screen" data-testid="completed">
          <div class="muted">${t('tender.completed')} ${sale.receipt_no ? html`· <span data-testid="receipt-no">${sale.receipt_no}</span>` : ''}</div>
          <div class="change-label">${t('tender.change')}</div>
          <div class="change-big" data-testid="change">${yuan(sale.change || 0)}</div>
          <div class="kv"><span>${t('sale.total')}</span><span>${yuan(sale.total)}</span></div>
          <div class="kv"><span>${t('sale.paid')}</span><span>${yuan(sale.paid)}</span></div>
          ${sale.rounding ? html`<div class="kv"><span>${t('sale.rounding')}</span><span>${yuan(-sale.rounding)}</span></div>` : ''}
          <${TenderList} sale=${sale} />
          <input ref=${ref} class="sr-only" aria-hidden="true" />
          <button class="primary huge" data-testid="next-customer" onClick=${done}><kbd>Enter</kbd> ${t('tender.next')}</button>
        </div>` : html`
        <div class="tender-grid">
          <div class="tender-left">
            <div class="due-label">${t('tender.due')}</div>
            <div class="due-big" data-testid="due">${yuan(due)}</div>
            ${cashDue !== due ? html`<div class="muted">${t('tender.cash_due')} ${yuan(cashDue)}</div>` : ''}
            <div class="kv"><span>${t('sale.total')}</span><span>${yuan(sale.total)}</span></div>
            <div class="kv"><span>${t('sale.paid')}</span><span>${yuan(sale.paid || 0)}</span></div>
            <${TenderList} sale=${sale} />
            <label class="amount-label">${t('tender.amount')}
              <input ref=${ref} class="amount-input" data-testid="tender-amount" inputmode="decimal"
                placeholder=${yuan(cashDue, { sign: false })} autocomplete="off" />
            </label>
            <p class="muted small">${t('tender.hint')}</p>
          </div>
          <div class="tender-right">
            <div class="section-title">💴 ${t('tender.cash')}</div>
            <div class="quick">
              ${quick.map(q => html`<button class="quick-btn" data-testid=${`quick-${q.key}`} disabled=${busy}
                onMouseDown=${e => e.preventDefault()} onClick=${() => tender('cash', q.amount)}>
                <kbd>${q.key}</kbd><span>${q.label}</span></button>`)}
              <button class="quick-btn" disabled=${busy} onMouseDown=${e => e.preventDefault()}
                onClick=${() => { const a = typed(); if (a !== undefined) tender('cash', a ?? cashDue); }}>
                <kbd>Enter</kbd><span>${t('tender.cash_typed')}</span></button>
            </div>
            <div class="section-title">${t('tender.other')}</div>
            <div class="quick">
              ${methods.map(m => html`<button class="quick-btn method" data-testid=${`method-${m.method}`} disabled=${busy}
                onMouseDown=${e => e.preventDefault()}
                onClick=${() => other(m)}>
                <kbd>${m.key}</kbd><span>${m.icon} ${m.label}</span></button>`)}
            </div>
            ${sale.payment && sale.payment.state ? html`<p class="paying" data-testid="payment-state">⏳ ${t(`payment.${sale.payment.state}`)}</p>` : ''}
            <p class="muted small">📱 ${t('tender.paycode_hint')}</p>
            <button class="ghost" onClick=${() => (!sale.tenders || !sale.tenders.length) ? store.set({ tender: false }) : toast(t('tender.cannot_leave'), 'warn')}>
              <kbd>Esc</kbd> ${t('tender.back')}</button>
          </div>
        </div>`}
    </div>
  </div>`;
}

function TenderList({ sale }) {
  if (!sale.tenders || !sale.tenders.length) return null;
  return html`<div class="tender-list" data-testid="tenders">
    ${sale.tenders.map(x => html`<div class="kv"><span>${t(`tender.${x.method}`)}${x.ref ? html` <span class="muted small">${x.ref}</span>` : ''}</span><span>${yuan(x.amount)}</span></div>`)}
  </div>`;
}

// -- dialogs --------------------------------------------------------------------------------------
function Dialog() {
  useLang();
  const s = store.use();
  const d = s.dialog;
  const ref = useRef();
  const [reason, setReason] = useState('');
  useLayoutEffect(() => { if (d) { ref.current && ref.current.focus(); setReason(''); } }, [d && d.kind]);
  if (!d) return null;
  const line = d.line;

  async function submit(e) {
    e.preventDefault();
    const v = ref.current ? ref.current.value.trim() : '';
    const close = () => { store.set({ dialog: null }); setTimeout(focusMain, 0); };
    if (d.kind === 'qty') { close(); return setQty(line, v); }
    if (d.kind === 'member') { if (!v) return; close(); return tryAct('sale.member', { code: v }); }
    if (d.kind === 'price') {
      const fen = parseYuan(v);
      if (fen === null) return toast(t('msg.bad_amount'), 'warn');
      close();
      return tryAct('sale.price', { line_id: line.line_id, unit_price: fen });
    }
    if (d.kind === 'discount') {
      const params = { reason: reason || t('discount.default_reason') };
      if (line && !d.whole) params.line_id = line.line_id;
      const pm = v.match(/^(\d{1,2})(?:\.(\d{1,2}))?\s*%$/);
      if (pm) {
        // basis points on the wire: 10% -> 1000, 7.5% -> 750 (exact, no float)
        params.percent = parseInt(pm[1], 10) * 100 + parseInt((pm[2] || '').padEnd(2, '0') || '0', 10);
      } else {
        const fen = parseYuan(v);
        if (fen === null || fen <= 0) return toast(t('msg.bad_amount'), 'warn');
        params.amount = fen;
      }
      close();
      return tryAct('sale.discount', params);
    }
    if (d.kind === 'void') {
      close();
      const res = await tryAct('sale.void', { reason: v || t('void.default_reason') });
      if (res) { toast(t('msg.voided'), 'ok'); await refreshSale(); }
      return undefined;
    }
    if (d.kind === 'refund') { close(); return refund(v); }
    return undefined;
  }

  if (d.kind === 'resume') return html`<${ResumeDialog} list=${d.list} />`;

  const titles = {
    qty: t('dlg.qty', { name: line && line.name }),
    member: t('dlg.member'),
    price: t('dlg.price', { name: line && line.name }),
    discount: line && !d.whole ? t('dlg.discount_line', { name: line.name }) : t('dlg.discount_sale'),
    void: t('dlg.void'),
  };
  const hints = {
    qty: line && line.unit === 'kg' ? t('dlg.qty_kg_hint') : t('dlg.qty_hint'),
    member: t('dlg.member_hint'),
    price: line ? t('dlg.price_hint', { price: yuan(line.unit_price) }) : '',
    discount: t('dlg.discount_hint'),
    void: t('dlg.void_hint'),
  };
  return html`<div class="modal-back">
    <form class="modal prompt" data-testid=${`dialog-${d.kind}`} onSubmit=${submit}>
      <h2>${titles[d.kind]}</h2>
      <p class="muted">${hints[d.kind]}</p>
      <input ref=${ref} data-testid="dialog-input" class="dialog-input" autocomplete="off"
        inputmode=${d.kind === 'void' ? 'text' : 'decimal'} />
      ${d.kind === 'discount' && html`<label>${t('discount.reason')}
        <select value=${reason} onChange=${e => setReason(e.target.value)}>
          <option value="">${t('discount.default_reason')}</option>
          <option value=${t('discount.damaged')}>${t('discount.damaged')}</option>
          <option value=${t('discount.expiry')}>${t('discount.expiry')}</option>
          <option value=${t('discount.goodwill')}>${t('discount.goodwill')}</option>
        </select></label>
        ${line && html`<label class="check"><input type="checkbox" checked=${!!d.whole}
          onChange=${e => store.set({ dialog: { ...d, whole: e.target.checked } })} /> ${t('dlg.discount_whole')}</label>`}`}
      <div class="modal-actions">
        <button type="button" onClick=${closeDialog}><kbd>Esc</kbd> ${t('common.cancel')}</button>
        <button type="submit" class="primary" data-testid="dialog-ok"><kbd>Enter</kbd> ${t('common.ok')}</button>
      </div>
    </form>
  </div>`;
}

function ResumeDialog({ list }) {
  useLang();
  const [i, setI] = useState(0);
  const ref = useRef();
  useEffect(() => { ref.current && ref.current.focus(); }, []);
  async function pick(x) {
    store.set({ dialog: null });
    await tryAct('sale.resume', { id: x.id });
    await refreshSale();
  }
  function onKeyDown(e) {
    if (e.key === 'ArrowDown') { e.preventDefault(); setI(v => Math.min(list.length - 1, v + 1)); }
    if (e.key === 'ArrowUp') { e.preventDefault(); setI(v => Math.max(0, v - 1)); }
    if (e.key === 'Enter' && list[i]) { e.preventDefault(); pick(list[i]); }
    const n = parseInt(e.key, 10);
    if (n >= 1 && n <= list.length) { e.preventDefault(); pick(list[n - 1]); }
  }
  return html`<div class="modal-back">
    <div class="modal resume" data-testid="dialog-resume" tabindex="0" ref=${ref} onKeyDown=${onKeyDown}>
      <h2>${t('dlg.resume')}</h2>
      ${list.length === 0 ? html`<p class="muted">${t('dlg.resume_none')}</p>` : html`
        <table class="list">
          <thead><tr><th>#</th><th>${t('dlg.resume_when')}</th><th class="r">${t('sale.items')}</th><th class="r">${t('sale.total')}</th></tr></thead>
          <tbody>${list.map((x, k) => html`<tr class=${k === i ? 'selected' : ''} data-testid="suspended" onClick=${() => pick(x)}>
            <td>${k + 1}</td><td>${fmtTime(x.suspended_at || x.updated_at || x.started_at)} ${x.note || x.operator || ''}</td>
            <td class="r">${x.items ?? x.line_count ?? (x.lines ? x.lines.length : '')}</td><td class="r">${yuan(x.total)}</td></tr>`)}</tbody>
        </table>`}
      <div class="modal-actions">
        <button type="button" onClick=${closeDialog}><kbd>Esc</kbd> ${t('common.cancel')}</button>
        <button type="button" class="primary" disabled=${!list[i]} onClick=${() => pick(list[i])}><kbd>Enter</kbd> ${t('dlg.resume_ok')}</button>
      </div>
    </div>
  </div>`;
}

function fmtTime(v) {
  if (!v) return '';
  const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v * 1000 : v);
  return isNaN(d) ? String(v) : d.toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
}

function Help() {
  useLang();
  const s = store.use();
  if (!s.help) return null;
  const rows = [
    ['0-9 Enter', t('help.scan')], ['3*code', t('help.multiply')], ['↑ ↓', t('help.select')],
    ...FKEYS.map(k => [k.key, t(k.label)]), ['Enter (empty)', t('key.pay')], ['Esc', t('help.esc')],
    ['Alt+L', t('help.lang')], ['Alt+Q', t('key.logout')],
  ];
  return html`<div class="modal-back" onClick=${() => store.set({ help: false })}>
    <div class="modal help" data-testid="help">
      <h2>⌨ ${t('help.title')}</h2>
      <table class="list">${rows.map(([k, v]) => html`<tr><td><kbd>${k}</kbd></td><td>${v}</td></tr>`)}</table>
      <p class="muted small">${t('help.tender')}</p>
    </div>
  </div>`;
}

function Main() {
  useLang();
  return html`<div class="checkout">
    <${Header} />
    <main class="checkout-main">
      <section class="left">
        <${ScanInput} />
        <${Lines} />
      </section>
      <aside class="right">
        <${Totals} />
        <${Weight} />
        <${FunctionKeys} />
      </aside>
    </main>
    <${StatusBar} />
    <${TenderScreen} />
    <${Dialog} />
    <${Help} />
  </div>`;
}

function App() {
  useLang();
  const s = store.use();
  const state = useGwState(gw);
  let body;
  if (gw.welcome && gw.welcome.safe_mode) {  // the store failed its start-up check
    body = html`<div class="center-screen" data-testid="safe-mode"><div class="card">
      <h1>${t('safe_mode.title')}</h1><p>${t('safe_mode.body')}</p>
      <p class="error" data-testid="safe-mode-reason">${gw.welcome.safe_mode}</p></div></div>`;
  } else if (state === 'unpaired') body = html`<${PairingScreen} gw=${gw} title=${t('app.checkout')} />`;
  else if (!gw.welcome && state !== 'online') body = html`<div class="center-screen"><div class="card"><h1>${t('app.checkout')}</h1><p class="muted">${t('offline.connecting')}</p></div></div>`;
  else if (!s.operator) {
    body = html`<${LoginScreen} title=${t('app.checkout')} hint=${t('login.demo_hint')}
      onLogin=${async (operator, pin) => {
        const who = await gw.call('auth.login', { operator, pin });
        credentials = { operator, pin };
        store.set({ operator: who, mode: 'sale' });
        await refreshSale();
      }} />`;
  } else body = html`<${Main} />`;
  return html`${body}<${OfflineBanner} gw=${gw} /><${ApprovalDialog} /><${Toasts} />`;
}

await loadI18n();
render(html`<${App} />`, document.getElementById('app'));
gw.start();
