// The checkout: keyboard first (every action has a key, shown on its button), usable by touch.
// The page renders the daemon's sale and sends intents; it never computes a total.
import { Gateway } from '../lib/gateway.js';
import { html, render, useState, useEffect, useLayoutEffect, useRef } from '../lib/html.js';
import { t, useLang, loadI18n, setLang, getLang } from '../lib/i18n.js';
import { LangToggle } from '../lib/components/lang.js';
import { yuan, parseYuan, qtyText, grams, errText } from '../lib/format.js';
import { Store } from '../lib/store.js';
import { toast, beep } from '../lib/components/toasts.js';
import { useGwState } from '../lib/components/connection.js';
import { PageStart } from '../lib/components/start.js';
import { withApproval, approvals } from '../lib/components/approval.js';
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
  member: null,         // the attached member as the daemon shows it (member_info / member.get)
  auths: {},            // tender ref -> how head office authorized it (sale.tender / sale.coupon answers)
  shift: undefined,     // shift.current: {shift, day}; undefined: not known (not served)
  tenders: null,        // sale.tenders: the methods this till takes; null: not known (all shown)
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
  await refreshTenders({ raw: true });
  if (store.state.operator) {
    await refreshSale({ raw: true });
    await refreshShift({ raw: true });
  }
  if (restarted) toast(t('offline.restarted'), 'info');
};

// The methods whose buttons this page disables when the daemon does not serve them.
const OPTIONAL = ['sale.refund', 'sale.refundable', 'sale.suspended', 'receipt.reprint', 'sale.member',
  'sale.price', 'sale.discount', 'sale.void', 'sale.coupon', 'member.get', 'shift.current', 'shift.open',
  'shift.close'];

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

// The tender methods this till takes: head office's payment settings, else the till's config
// (sale.tenders). Read at every connect and each time the tender screen opens, as head office
// may change them while the page is open; the daemon refuses any other tender all the same.
async function refreshTenders(opts = {}) {
  if (!gw.can('sale.tenders')) { store.set({ tenders: null }); return; }
  try { store.set({ tenders: (await gw.call('sale.tenders', {}, opts)).tenders }); } catch (e) { /* kept */ }
}

function takes(...methods) {
  const taken = store.state.tenders;
  return !taken || methods.some(m => taken.includes(m));
}

async function refreshShift(opts = {}) {
  if (!gw.can('shift.current')) return;
  try { store.set({ shift: await gw.call('shift.current', {}, opts) }); } catch (e) { /* shown when used */ }
}

// The attached member: the daemon sends its view as `member_info` when it is attached and when
// the sale completes (points earned); other updates carry only the id, so the view is read
// again (member.get by id) when the member or the sale's tenders change.
let memberKey = null;
function syncMember(sale) {
  if (!sale || !sale.member) {
    memberKey = null;
    if (store.state.member) store.set({ member: null });
    return;
  }
  const info = sale.member_info;
  const key = `${sale.member}:${(sale.tenders || []).length}:${sale.state}`;
  if (info && (info.id || info.member) === sale.member) {
    memberKey = key;
    store.set({ member: { ...(store.state.member || {}), ...info, id: sale.member } });
    return;
  }
  if (key === memberKey || !gw.can('member.get')) return;
  memberKey = key;
  gw.call('member.get', { code: sale.member }).then(m => {
    const cur = store.state.sale;
    if (cur && cur.member === m.id) store.set({ member: { ...(store.state.member || {}), ...m, points_earned: undefined } });
  }).catch(() => { memberKey = null; });
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
  syncMember(sale);
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
    const last = res && res.authorization && res.tenders && res.tenders[res.tenders.length - 1];
    if (last && last.ref) store.set({ auths: { ...store.state.auths, [last.ref]: res.authorization } });
    if (res && res.lines && res.id) setSale(res);
    else if (res && res.sale && res.sale.lines) setSale(res.sale);
    return res;
  } catch (e) {
    if (needsShift(e) && gw.can('shift.open')) {
      prompt('shift_open');
      throw e;
    }
    if (!quiet) {
      beep(330, 200);
      if (e.code === 'unknown_method') toast(t('err.not_available'), 'error');
      else toast(errText(e), 'error', 5000);
    }
    throw e;
  }
}
const tryAct = (...a) => act(...a).catch(() => null);

/** The daemon refused because no shift is open (sales need one at this till). */
function needsShift(e) {
  const reason = e && e.details && e.details.reason;
  if (!e || e.code !== 'conflict') return false;
  if (typeof reason === 'string') return /shift/.test(reason) && reason !== 'shift_open';
  return /no (open )?shift|open a shift/i.test(e.text || '');
}

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

/** Refund mode: the receipt's lines with what is left to refund, to pick from (sale.refundable);
 *  a daemon without it refunds the whole receipt. */
async function refund(receiptNo) {
  if (!gw.can('sale.refundable')) return refundLines(receiptNo, null);
  try {
    const found = await call('sale.refundable', { receipt_no: receiptNo });
    if (!found.lines.some(l => l.refundable > 0)) return toast(t('refund.nothing_left'), 'warn');
    prompt('refund', { receipt_no: receiptNo, found });
  } catch (e) {
    beep(330, 200);
    toast(errText(e), 'error', 5000);
  }
  return undefined;
}

async function refundLines(receiptNo, lines) {
  const params = { receipt_no: receiptNo };
  if (lines) params.lines = lines;
  const res = await tryAct('sale.refund', params);
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
  shift: () => {
    const cur = store.state.shift;
    if (cur === undefined || !gw.can('shift.open')) return toast(t('err.not_available'), 'warn');
    prompt(cur.shift ? 'shift_close' : 'shift_open');
  },
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
  if (e.altKey && (e.key === 's' || e.key === 'S') && !s.dialog && !s.tender) { e.preventDefault(); actions.shift(); return; }
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
    ${s.shift && html`<button class=${`ghost shift-badge ${s.shift.shift ? '' : 'warn'}`} data-testid="shift" title="Alt+S" onClick=${actions.shift}>
      ${s.shift.shift ? t('shift.is_open', { operator: s.shift.shift.operator }) : t('shift.none')} <kbd>Alt+S</kbd></button>`}
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

// A sale is paid only in an open shift: a till without one says so where the sale will be,
// with the button that asks for the float (as Alt+S and a refused tender do).
function NoShift() {
  useLang();
  return html`<div class="no-shift card" data-testid="no-shift">
    <span>⚠ ${t('shift.needed')}</span>
    <button class="primary" data-testid="open-shift" onMouseDown=${e => e.preventDefault()}
      onClick=${() => prompt('shift_open')}>${t('shift.open_title')} <kbd>Alt+S</kbd></button>
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
      ${s.shift && !s.shift.shift && s.mode === 'sale' && html`<${NoShift} />`}
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
    <${MemberCard} sale=${sale} member=${s.member} />
  </div>`;
}

/** The attached member: name, tier, masked phone, points and stored-value balance, as the
 *  daemon sent them; after completion the points the sale earned. */
function MemberCard({ sale, member }) {
  useLang();
  if (!sale || !sale.member) {
    return html`<div class="member-row" data-testid="member"><span class="muted">${t('member.none')} <kbd>F9</kbd></span></div>`;
  }
  if (!member) return html`<div class="member-row" data-testid="member"><span class="member">⭐ …</span></div>`;
  return html`<div class="member-card" data-testid="member">
    <div class="member-head"><span class="member" data-testid="member-name">⭐ ${member.name}</span>
      ${(member.tier_name || member.tier) && html`<span class="tag" data-testid="member-tier">${member.tier_name || member.tier}</span>`}
      <span class="muted small" data-testid="member-phone">${member.phone}</span></div>
    <div class="kv"><span>${t('member.points_label')}</span><span data-testid="member-points">${member.points}${member.points_earned ? html` <span class="ok small">(+${member.points_earned})</span>` : ''}</span></div>
    <div class="kv"><span>${t('member.balance')}</span><span data-testid="member-balance">${yuan(member.balance)}</span></div>
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
  // the amount box keeps the focus, except from a dialog over it (the shift's float, an approval)
  useEffect(() => { if (!s.dialog && !approvals.state.open) ref.current && ref.current.focus(); });
  useEffect(() => { if (s.tender) refreshTenders(); }, [s.tender]);
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
  // only the methods this till takes have buttons; their keys say so instead of tendering
  const cash = takes('cash');
  const quick = [];
  if (!completed && cash) {
    quick.push({ key: 'F1', label: t('tender.exact'), amount: cashDue });
    for (const [k, step] of [['F2', 10], ['F3', 50], ['F4', 100]]) {
      const a = nextNote(cashDue, step);
      if (!quick.some(q => q.amount === a)) quick.push({ key: k, label: yuan(a), amount: a });
    }
  }
  const paycode = takes('alipay', 'wechat');  // a scanned code is classified as one of them
  const methods = [
    { key: 'F5', method: 'card', label: t('tender.card'), icon: '💳', taken: takes('card') },
    { key: 'F6', method: 'paycode', label: t('tender.paycode'), icon: '📱', taken: paycode },
    { key: 'F7', method: 'voucher', label: t('tender.voucher'), icon: '🎫', taken: takes('voucher') },
  ];
  // The member's money: stored value and points need the member on the sale; a coupon
  // (bearer or the member's own) is redeemed by its code.
  const member = s.member;
  const memberMethods = [
    { key: 'F8', method: 'stored_value', label: t('tender.stored_value'), icon: '💳',
      taken: takes('stored_value'), disabled: !sale.member, note: member && sale.member ? yuan(member.balance) : t('tender.needs_member') },
    { key: 'F9', method: 'points', label: t('tender.points'), icon: '⭐',
      taken: takes('points'), disabled: !sale.member, note: member && sale.member ? t('member.points', { n: member.points }) : t('tender.needs_member') },
    { key: 'F10', method: 'coupon', label: t('tender.coupon'), icon: '🎟', taken: true,
      disabled: !gw.can('sale.coupon') },
  ];
  const others = methods.filter(m => m.taken);
  const members = memberMethods.filter(m => m.taken);
  const notTaken = (label) => toast(t('tender.not_taken', { method: label }), 'warn');
  function other(m) {
    // card, stored value, points: the typed amount (or the rest); payment code, voucher and
    // coupon: the typed text is the code
    if (m.method === 'card' || m.method === 'stored_value' || m.method === 'points') {
      if (m.disabled) { toast(t('tender.needs_member'), 'warn'); return; }
      const a = typed();
      if (a !== undefined) tender(m.method, a ?? undefined);
      return;
    }
    if (m.method === 'coupon') {
      const code = ref.current ? ref.current.value.trim() : '';
      if (!code) { toast(t('tender.coupon_hint'), 'warn'); return; }
      if (ref.current) ref.current.value = '';
      if (busy) return;
      setBusy(true);
      act('sale.coupon', { code }).catch(() => null).finally(() => setBusy(false));
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
      if (!cash) { notTaken(t('tender.cash')); return; }
      const a = typed();
      if (a === undefined) return;
      tender('cash', a ?? cashDue);
      return;
    }
    const q = quick.find(x => x.key === e.key);
    if (q) { e.preventDefault(); tender('cash', q.amount); return; }
    const m = methods.find(x => x.key === e.key) || memberMethods.find(x => x.key === e.key);
    if (m) { e.preventDefault(); if (m.taken) other(m); else notTaken(m.label); }
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
            ${cash ? html`<div class="section-title">💴 ${t('tender.cash')}</div>
            <div class="quick" data-testid="cash-tenders">
              ${quick.map(q => html`<button class="quick-btn" data-testid=${`quick-${q.key}`} disabled=${busy}
                onMouseDown=${e => e.preventDefault()} onClick=${() => tender('cash', q.amount)}>
                <kbd>${q.key}</kbd><span>${q.label}</span></button>`)}
              <button class="quick-btn" disabled=${busy} onMouseDown=${e => e.preventDefault()}
                onClick=${() => { const a = typed(); if (a !== undefined) tender('cash', a ?? cashDue); }}>
                <kbd>Enter</kbd><span>${t('tender.cash_typed')}</span></button>
            </div>` : ''}
            ${others.length ? html`<div class="section-title">${t('tender.other')}</div>
            <div class="quick">
              ${others.map(m => html`<button class="quick-btn method" data-testid=${`method-${m.method}`} disabled=${busy}
                onMouseDown=${e => e.preventDefault()}
                onClick=${() => other(m)}>
                <kbd>${m.key}</kbd><span>${m.icon} ${m.label}</span></button>`)}
            </div>` : ''}
            <div class="section-title">⭐ ${t('tender.member')}</div>
            <div class="quick" data-testid="member-tenders">
              ${members.map(m => html`<button class="quick-btn method" data-testid=${`method-${m.method}`} disabled=${busy || m.disabled}
                onMouseDown=${e => e.preventDefault()}
                onClick=${() => other(m)}>
                <kbd>${m.key}</kbd><span>${m.icon} ${m.label}${m.note ? html`<small class="muted"> ${m.note}</small>` : ''}</span></button>`)}
            </div>
            ${sale.payment && sale.payment.state ? html`<p class="paying" data-testid="payment-state">⏳ ${t(`payment.${sale.payment.state}`)}</p>` : ''}
            ${paycode ? html`<p class="muted small">📱 ${t('tender.paycode_hint')}</p>` : ''}
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
    ${sale.tenders.map(x => html`<div class="kv" data-testid="tender-row"><span>${t(`tender.${x.method}`)}${x.ref ? html` <span class="muted small">${x.ref}</span>` : ''}<${AuthBadge} of=${x} /></span><span>${yuan(x.amount)}</span></div>`)}
  </div>`;
}

/** How a tender spent at several tills (stored value, points, coupons) was authorized on a
 *  till enrolled at head office: the answer to the tender's call carries `authorization`
 *  {mode: hq|offline, policy?, offline_reason?} (kept by the tender's ref), and a stored-value
 *  or points tender's ref is `{mode}:{hold id}`. */
function authOf(x) {
  const known = x.authorization || (x.ref && store.state.auths[x.ref]);
  if (known) return known;
  const m = (x.method === 'stored_value' || x.method === 'points') && x.ref && x.ref.match(/^(hq|offline):/);
  return m ? { mode: m[1] } : null;
}

function AuthBadge({ of }) {
  const a = authOf(of);
  if (!a) return null;
  const mode = typeof a === 'string' ? a : a.mode;
  const key = `auth.${mode}`;
  const why = typeof a === 'object' ? [a.policy !== undefined && a.policy !== null ? `${t('auth.policy')}: ${a.policy}` : '', a.offline_reason || ''].filter(Boolean).join(' · ') : '';
  return html` <span class=${`tag auth auth-${mode}`} data-testid="tender-auth" title=${why}>${t(key) !== key ? t(key) : mode}</span>`;
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
    if (d.kind === 'shift_open' || d.kind === 'shift_close') {
      const fen = v === '' && d.kind === 'shift_open' ? 0 : parseYuan(v);
      if (fen === null) return toast(t('msg.bad_amount'), 'warn');
      close();
      const res = await tryAct(d.kind === 'shift_open' ? 'shift.open' : 'shift.close',
        d.kind === 'shift_open' ? { float: fen } : { counted: fen });
      if (res && d.kind === 'shift_open') toast(t('shift.opened'), 'ok');
      if (res && d.kind === 'shift_close') {
        toast(t('shift.closed', { expected: yuan(res.expected), variance: yuan(res.variance) }), 'ok', 10000);
      }
      await refreshShift();
      return undefined;
    }
    return undefined;
  }

  if (d.kind === 'resume') return html`<${ResumeDialog} list=${d.list} />`;
  if (d.kind === 'refund') return html`<${RefundDialog} receiptNo=${d.receipt_no} found=${d.found} />`;

  const titles = {
    qty: t('dlg.qty', { name: line && line.name }),
    member: t('dlg.member'),
    price: t('dlg.price', { name: line && line.name }),
    discount: line && !d.whole ? t('dlg.discount_line', { name: line.name }) : t('dlg.discount_sale'),
    void: t('dlg.void'),
    shift_open: t('shift.open_title'),
    shift_close: t('shift.close_title'),
  };
  const hints = {
    qty: line && line.unit === 'kg' ? t('dlg.qty_kg_hint') : t('dlg.qty_hint'),
    member: t('dlg.member_hint'),
    price: line ? t('dlg.price_hint', { price: yuan(line.unit_price) }) : '',
    discount: t('dlg.discount_hint'),
    void: t('dlg.void_hint'),
    shift_open: t('shift.open_hint'),
    shift_close: t('shift.close_hint'),
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

/** Refund lines of a receipt: each line with what is left to refund; the cashier picks lines
 *  (Space or a tap) and quantities (pieces, or kg for weighed lines), Enter refunds them. */
function RefundDialog({ receiptNo, found }) {
  useLang();
  const lines = found.lines.filter(l => l.refundable > 0);
  const units = Object.fromEntries(found.sale.lines.map(l => [l.line_id, l]));
  const isKg = l => units[l.line_id] && units[l.line_id].unit === 'kg';
  const show = (l, q) => (isKg(l) ? (q / 1000).toFixed(3) : String(q / 1000));
  const [pick, setPick] = useState(() => Object.fromEntries(lines.map(l => [l.line_id, { on: false, qty: show(l, l.refundable) }])));
  const [i, setI] = useState(0);
  const ref = useRef();
  useEffect(() => { ref.current && ref.current.focus(); }, []);
  const qtyOf = (l) => {
    const m = String(pick[l.line_id].qty).trim().match(isKg(l) ? /^(\d+)(?:\.(\d{1,3}))?$/ : /^(\d+)$/);
    if (!m) return null;
    return parseInt(m[1], 10) * 1000 + (isKg(l) ? parseInt((m[2] || '').padEnd(3, '0') || '0', 10) : 0);
  };
  const toggle = (l) => setPick(p => ({ ...p, [l.line_id]: { ...p[l.line_id], on: !p[l.line_id].on } }));
  function submit() {
    const chosen = [];
    for (const l of lines) {
      if (!pick[l.line_id].on) continue;
      const qty = qtyOf(l);
      if (qty === null || qty <= 0 || qty > l.refundable) {
        toast(t('refund.bad_qty', { name: l.name, max: show(l, l.refundable) }), 'warn');
        return;
      }
      chosen.push({ line_id: l.line_id, qty });
    }
    if (!chosen.length) { toast(t('refund.pick_lines'), 'warn'); return; }
    const everything = chosen.length === lines.length && chosen.every(c => c.qty === lines.find(l => l.line_id === c.line_id).refundable);
    store.set({ dialog: null });
    refundLines(receiptNo, everything ? null : chosen);
  }
  function onKeyDown(e) {
    if (e.target.tagName === 'INPUT' && e.target.type !== 'checkbox' && e.key !== 'Enter' && e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
    if (e.key === 'ArrowDown') { e.preventDefault(); setI(v => Math.min(lines.length - 1, v + 1)); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setI(v => Math.max(0, v - 1)); }
    else if (e.key === ' ' && lines[i]) { e.preventDefault(); toggle(lines[i]); }
    else if (e.key === 'a' || e.key === 'A') {
      e.preventDefault();
      const on = !lines.every(l => pick[l.line_id].on);
      setPick(p => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, { ...v, on }])));
    } else if (e.key === 'Enter') { e.preventDefault(); submit(); }
  }
  return html`<div class="modal-back">
    <div class="modal refund-lines" data-testid="dialog-refund" tabindex="0" ref=${ref} onKeyDown=${onKeyDown}>
      <h2>↩ ${t('refund.title', { receipt: receiptNo })}</h2>
      <p class="muted">${t('refund.pick_hint')}</p>
      <table class="list">
        <thead><tr><th></th><th>${t('line.name')}</th><th class="r">${t('refund.sold')}</th><th class="r">${t('refund.returned')}</th><th class="r">${t('refund.qty')}</th></tr></thead>
        <tbody>${lines.map((l, k) => html`<tr class=${k === i ? 'selected' : ''} data-testid="refund-line" data-sku=${l.sku} onClick=${() => setI(k)}>
          <td><input type="checkbox" data-testid="refund-pick" checked=${pick[l.line_id].on} onChange=${() => toggle(l)} /></td>
          <td>${l.name}</td><td class="r">${show(l, l.qty)}</td><td class="r">${show(l, l.returned)}</td>
          <td class="r"><input class="refund-qty" data-testid="refund-qty" inputmode="decimal" value=${pick[l.line_id].qty}
            onFocus=${() => setI(k)}
            onInput=${e => { const v = e.target.value; setPick(p => ({ ...p, [l.line_id]: { on: true, qty: v } })); }} />
            <span class="muted small"> / ${show(l, l.refundable)}</span></td></tr>`)}</tbody>
      </table>
      ${found.refunds && found.refunds.length > 0 && html`<p class="muted small">${t('refund.earlier', { list: found.refunds.join(', ') })}</p>`}
      <div class="modal-actions">
        <button type="button" onClick=${closeDialog}><kbd>Esc</kbd> ${t('common.cancel')}</button>
        <button type="button" class="primary" data-testid="refund-ok" onClick=${submit}><kbd>Enter</kbd> ${t('refund.ok')}</button>
      </div>
    </div>
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
    ['Alt+L', t('help.lang')], ['Alt+S', t('help.shift')], ['Alt+Q', t('key.logout')],
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
  return html`<${PageStart} gw=${gw} title=${t('app.checkout')} signedIn=${!!s.operator} login=${{
    hint: t('login.demo_hint'),
    onLogin: async (operator, pin) => {
      const who = await gw.call('auth.login', { operator, pin });
      credentials = { operator, pin };
      store.set({ operator: who, mode: 'sale' });
      await refreshSale();
      await refreshShift();
    },
  }}>${s.operator && html`<${Main} />`}</${PageStart}>`;
}

await loadI18n();
render(html`<${App} />`, document.getElementById('app'));
gw.start();
