// The self-service kiosk: customer-facing, touch only. Scans come from the kiosk's scanner
// through the daemon's scan router into the sale; the page renders `sale.updated`. Fresh
// produce is weighed by picking a picture (sale.add {plu}: the daemon reads the scale).
// Paying = showing the payment code to the scanner (the scan router tenders it).
import { Gateway } from '../lib/gateway.js';
import { html, render, useState, useEffect, useRef } from '../lib/html.js';
import { t, useLang, loadI18n } from '../lib/i18n.js';
import { LangToggle } from '../lib/components/lang.js';
import { yuan, qtyText, grams, errText } from '../lib/format.js';
import { Store } from '../lib/store.js';
import { toast, beep } from '../lib/components/toasts.js';
import { PageStart } from '../lib/components/start.js';

const gw = new Gateway({ name: 'kiosk', kind: 'kiosk' });
window.gw = gw;
const KIOSK_KEY = 'gatewayd.kiosk_operator';

const store = new Store({
  screen: 'attract',    // attract | shop | weigh | pay | done | paused
  operator: null,
  sale: null,
  scale: null,          // reading of the weighing scale
  bag: null,            // reading of the bagging scale (when configured)
  devices: {},
  produce: [],          // [{plu, icon, item}]
  paused: null,         // {reason, message}
  config: null,
  bagging: { enabled: false, expected: 0, waiting: null },
});
window.posStore = store;

let config = { idle_s: 90, done_s: 10, plu: [], bagging: { device: 'bagging', tolerance_g: 20, tolerance_pct: 5, wait_s: 12 } };

function saved() {
  try { return JSON.parse(localStorage.getItem(KIOSK_KEY) || 'null'); } catch (e) { return null; }
}

gw.subscribe(['sale', 'scale', 'devices', 'scanner']);
gw.onConnect = async () => {
  const cred = saved();
  if (cred) {
    try {
      const who = await gw.call('auth.login', cred, { raw: true });
      store.set({ operator: who });
    } catch (e) {
      if (e.code === 'unauthenticated') localStorage.removeItem(KIOSK_KEY);
      store.set({ operator: null });
    }
  }
  const res = await gw.call('devices.list', {}, { raw: true });
  const devices = {};
  for (const d of res.devices) devices[d.id] = d;
  const sc = devices.scale;
  const bagDev = devices[config.bagging.device];
  store.set(s => ({
    devices,
    scale: sc && sc.status ? { device: 'scale', ...sc.status } : s.scale,
    bag: bagDev && bagDev.status ? { device: bagDev.id, ...bagDev.status } : s.bag,
    bagging: { ...s.bagging, enabled: !!(bagDev && bagDev.kind === 'scale') },
  }));
  if (store.state.operator) {
    await loadProduce();
    await refreshSale();
  }
};

async function loadProduce() {
  const produce = [];
  for (const p of config.plu) {
    try {
      const r = await gw.call('catalog.lookup', { barcode: p.plu }, { raw: true });
      if (r.item && r.item.active !== false) produce.push({ ...p, item: r.item });
    } catch (e) { /* not in the catalog: not shown */ }
  }
  store.set({ produce });
}

async function refreshSale() {
  try {
    const sale = await gw.call('sale.current', {}, { raw: true });
    onSale(sale, true);
  } catch (e) { console.warn(e); }
}

// -- the sale --------------------------------------------------------------------------------
function onSale(sale, initial = false) {
  const s = store.state;
  if (sale && sale.id === null) sale = null;
  if (s.sale && sale && s.sale.id === sale.id && (s.sale.version ?? 0) > (sale.version ?? 0)) return;
  const known = s.sale && sale && s.sale.id === sale.id;
  if (sale && sale.state === 'completed') {
    if (known && s.screen !== 'done') {
      store.set({ sale, screen: 'done' });
      beep(1200, 120);
      setTimeout(() => { if (store.state.screen === 'done') resetToAttract(); }, config.done_s * 1000);
    }
    return;
  }
  if (sale && (sale.state === 'voided' || sale.state === 'suspended')) {
    resetToAttract();
    return;
  }
  const before = known ? s.sale.lines : [];
  store.set({ sale });
  if (sale && sale.lines.length && (s.screen === 'attract' || initial && s.screen === 'attract')) store.set({ screen: 'shop' });
  if (sale && known) {
    const added = sale.lines.filter(l => !l.voided && !before.some(b => b.line_id === l.line_id));
    for (const line of added) bagExpect(line);
    const voided = sale.lines.filter(l => l.voided && before.some(b => b.line_id === l.line_id && !b.voided));
    if (voided.length) bagRebase();
  }
  touch();
}

function resetToAttract() {
  store.set({ screen: 'attract', sale: null, paused: null });
  store.set(s => ({ bagging: { ...s.bagging, expected: s.bag ? s.bag.grams : 0, waiting: null } }));
}

gw.on('sale.updated', sale => { if (store.state.operator) onSale(sale); });
gw.on('scale.reading', d => {
  if (d.device === config.bagging.device) { store.set({ bag: d }); bagCheck(); } else store.set({ scale: d });
});
gw.on('scanner.error', d => {
  beep(330, 220, 2);
  const key = d.reason === 'unknown_code' ? 'kiosk.unknown_code' : 'kiosk.scan_failed';
  toast(t(key, { code: d.data || '' }), 'error', 5000);
});

// -- idle ----------------------------------------------------------------------------------------
let lastTouch = Date.now();
function touch() { lastTouch = Date.now(); }
['pointerdown', 'keydown'].forEach(ev => window.addEventListener(ev, touch, true));
setInterval(() => {
  const s = store.state;
  const empty = !s.sale || !s.sale.lines.some(l => !l.voided);
  if ((s.screen === 'shop' || s.screen === 'weigh') && empty && Date.now() - lastTouch > config.idle_s * 1000) {
    store.set({ screen: 'attract' });
  }
}, 2000);

// -- bagging area ---------------------------------------------------------------------------------
// Expected weight of a line: weighed items weigh their quantity (grams); a piece item weighs
// its catalog `weight_g` (grams per piece) when the catalog has one. Lines without a known
// weight are not checked: their bagged weight becomes the new baseline (docs/web.md).
const weightCache = new Map();

async function lineWeight(line) {
  if (line.unit === 'kg') return line.qty;
  if (!weightCache.has(line.sku)) {
    let w = null;
    try {
      const r = await gw.call('catalog.lookup', { sku: line.sku });
      const g = r.item && (r.item.weight_g ?? r.item.weight);
      w = Number.isInteger(g) ? g : null;
    } catch (e) { w = null; }
    weightCache.set(line.sku, w);
  }
  const per = weightCache.get(line.sku);
  return per === null ? null : Math.round(per * line.qty / 1000); // display-side expectation only
}

function tolerance(expected) {
  const b = config.bagging;
  return Math.max(b.tolerance_g, Math.round(Math.abs(expected) * b.tolerance_pct / 100));
}

async function bagExpect(line) {
  const s = store.state;
  if (!s.bagging.enabled) return;
  const w = await lineWeight(line);
  const base = store.state.bagging.expected;
  const waiting = { line: line.name, add: w, until: Date.now() + config.bagging.wait_s * 1000 };
  store.set(st => ({ bagging: { ...st.bagging, waiting, target: w === null ? null : base + w } }));
  setTimeout(() => {
    const b = store.state.bagging;
    if (b.waiting === waiting) bagMismatch(t('kiosk.bag_not_placed', { name: line.name }));
  }, config.bagging.wait_s * 1000 + 50);
  bagCheck();
}

function bagRebase() {
  store.set(s => ({ bagging: { ...s.bagging, waiting: null, expected: s.bag ? s.bag.grams : s.bagging.expected } }));
}

function bagCheck() {
  const s = store.state;
  const b = s.bagging;
  if (!b.enabled || !s.bag || !s.bag.stable) return;
  const g = s.bag.grams;
  if (b.waiting) {
    if (b.target === null) {
      // Unknown item weight: accept any increase as the new baseline.
      if (g > b.expected + config.bagging.tolerance_g) store.set({ bagging: { ...b, waiting: null, expected: g } });
      return;
    }
    if (Math.abs(g - b.target) <= tolerance(b.target - b.expected)) {
      store.set({ bagging: { ...b, waiting: null, expected: b.target } });
      if (s.screen === 'paused' && s.paused && s.paused.reason === 'bagging') store.set({ screen: 'shop', paused: null });
    }
    return;
  }
  const off = Math.abs(g - b.expected) > tolerance(0);
  if (off && s.screen !== 'paused' && s.screen !== 'attract' && s.screen !== 'done') {
    bagMismatch(g > b.expected ? t('kiosk.bag_unexpected') : t('kiosk.bag_removed'));
  } else if (!off && s.screen === 'paused' && s.paused && s.paused.reason === 'bagging') {
    store.set({ screen: 'shop', paused: null });
  }
}

function bagMismatch(message) {
  const s = store.state;
  if (s.screen === 'paused') return;
  beep(440, 300, 3);
  store.set({ screen: 'paused', paused: { reason: 'bagging', message } });
  gw.call('alert.raise', { kind: 'bagging_mismatch', message, device: config.bagging.device }).catch(() => null);
}

async function callHelp() {
  try {
    await gw.call('alert.raise', { kind: 'help', message: t('kiosk.help_message', { till: gw.welcome ? gw.welcome.till.till : '' }) });
    toast(t('kiosk.help_called'), 'ok', 6000);
  } catch (e) {
    toast(errText(e), 'error');
  }
}

/** An attendant clears a pause: their id and PIN are checked on a separate connection, so
 *  the kiosk stays logged in as the kiosk operator. */
async function attendantOverride(operator, pin) {
  const check = new Gateway({ name: 'kiosk attendant', kind: 'kiosk' });
  check.token = gw.token;
  try {
    const ok = await new Promise((resolve, reject) => {
      check.onConnect = async () => {
        try {
          const who = await check.call('auth.login', { operator, pin }, { raw: true });
          resolve(who);
        } catch (e) { reject(e); }
      };
      check.start();
      setTimeout(() => reject(new Error('timeout')), 8000);
    });
    if (!check.atLeast(ok.role, 'supervisor')) throw new Error(t('kiosk.attendant_role'));
    bagRebase();
    store.set({ screen: 'shop', paused: null });
  } finally {
    check.stop();
  }
}

// -- views ----------------------------------------------------------------------------------------
function Top() {
  useLang();
  return html`<header class="kiosk-top">
    <h1>🛒 ${t('app.kiosk')}</h1>
    <div class="spacer"></div>
    <button class="help-btn" data-testid="help-button" onClick=${callHelp}>🙋 ${t('kiosk.help')}</button>
    <${LangToggle} />
  </header>`;
}

function Attract() {
  useLang();
  return html`<div class="attract" data-testid="attract" onClick=${() => store.set({ screen: 'shop' })}>
    <div class="icons">🍎🥛🍞</div>
    <h1>${t('kiosk.welcome')}</h1>
    <div class="sub">${t('kiosk.attract_sub')}</div>
    <div class="touch" data-testid="start">👆 ${t('kiosk.touch')}</div>
    <div style="margin-top:30px" onClick=${e => e.stopPropagation()}><${LangToggle} /></div>
  </div>`;
}

function SaleLines({ sale }) {
  useLang();
  const ref = useRef();
  useEffect(() => { if (ref.current) ref.current.scrollTop = ref.current.scrollHeight; }, [sale && sale.lines.length]);
  if (!sale || !sale.lines.some(l => !l.voided)) {
    return html`<div class="lines empty" data-testid="lines"><div class="empty-hint">
      <div class="big-icon">▮▯▮▯▮</div><h2>${t('kiosk.scan_first')}</h2>
      <div class="muted">${t('kiosk.scan_hint')}</div></div></div>`;
  }
  return html`<div class="lines" data-testid="lines" ref=${ref}><table><tbody>
    ${sale.lines.filter(l => !l.voided).map(l => html`<tr key=${l.line_id} class="line" data-testid="line">
      <td class="name"><div>${l.name}</div>
        ${(l.explain || []).length > 0 && html`<div class="explain">${l.explain.map(x => html`<span>🏷 ${x}</span>`)}</div>`}</td>
      <td class="r qty">${qtyText(l)}${l.unit === 'kg' ? html`<div class="muted small">${yuan(l.unit_price)}/kg</div>` : ''}</td>
      <td class="r amount">${yuan(l.net ?? l.amount)}</td></tr>`)}
  </tbody></table></div>`;
}

function Side() {
  useLang();
  const s = store.use();
  const sale = s.sale;
  const hasLines = sale && sale.lines.some(l => !l.voided);
  return html`<aside class="kiosk-side">
    <div class="card kiosk-total">
      <div class="total-label">${t('sale.total')}</div>
      <div class="total-big" data-testid="total">${yuan(sale ? sale.total : 0)}</div>
      ${sale && sale.discount > 0 && html`<div class="kv discount"><span>${t('kiosk.saved')}</span><span>${yuan(sale.discount)}</span></div>`}
    </div>
    ${s.bagging.enabled && html`<div class=${`bagging ${s.bagging.waiting ? 'bad' : ''}`} data-testid="bagging">
      🛍 ${s.bagging.waiting ? t('kiosk.bag_place', { name: s.bagging.waiting.line }) : t('kiosk.bag_ok')}</div>`}
    <button class="big-btn secondary" data-testid="weigh-button" onClick=${() => store.set({ screen: 'weigh' })}>⚖ ${t('kiosk.weigh')}</button>
    <button class="big-btn primary" data-testid="pay-button" disabled=${!hasLines || !!s.bagging.waiting}
      onClick=${() => store.set({ screen: 'pay' })}>${t('kiosk.pay')} ${hasLines ? yuan(sale.due ?? sale.total) : ''}</button>
  </aside>`;
}

function Weigh() {
  useLang();
  const s = store.use();
  const [busy, setBusy] = useState(null);
  const r = s.scale;
  async function pick(p) {
    if (busy) return;
    if (!r || !(r.grams > 0)) { toast(t('kiosk.put_on_scale'), 'warn'); beep(440, 150); return; }
    setBusy(p.plu);
    try {
      const sale = await gw.call('sale.add', { plu: p.plu });
      onSale(sale);
      store.set({ screen: 'shop' });
    } catch (e) {
      beep(330, 200);
      toast(e.code === 'device_busy' ? t('kiosk.scale_settle') : errText(e), 'error');
    } finally { setBusy(null); }
  }
  return html`<div class="kiosk-panel card" data-testid="weigh">
    <div class="row">
      <h2>⚖ ${t('kiosk.weigh_title')}</h2>
      <div class="spacer"></div>
      <div class="weight-hint" data-testid="kiosk-weight">${r && r.grams > 0 ? `${grams(r.grams)} ${r.stable ? '' : '…'}` : t('kiosk.put_on_scale')}</div>
      <button class="big-btn secondary" onClick=${() => store.set({ screen: 'shop' })}>← ${t('kiosk.back')}</button>
    </div>
    <div class="plu-grid">
      ${s.produce.map(p => html`<button class="plu" data-testid="plu" data-plu=${p.plu} disabled=${!!busy} onClick=${() => pick(p)}>
        <span class="pic">${p.icon || '🥗'}</span><span>${p.item.name}</span>
        <span class="price">${yuan(p.item.price)}/kg</span></button>`)}
    </div>
  </div>`;
}

function Pay() {
  useLang();
  const s = store.use();
  const sale = s.sale;
  if (!sale) return null;
  const paying = sale.payment && sale.payment.state === 'user_paying';
  return html`<div class="kiosk-panel card pay-screen" data-testid="pay">
    <div class="due-label">${t('tender.due')}</div>
    <div class="due-big" data-testid="due">${yuan(sale.due ?? sale.total)}</div>
    <div class="paycode-art">📱➡️<svg width="90" height="90" viewBox="0 0 90 90" style="vertical-align:middle">
      <rect x="5" y="5" width="80" height="80" rx="8" fill="none" stroke="#c8102e" stroke-width="5"/>
      <line x1="12" y1="45" x2="78" y2="45" stroke="#c8102e" stroke-width="4"/></svg></div>
    <h2>${paying ? t('payment.user_paying') : t('kiosk.show_code')}</h2>
    <p class="muted">${t('kiosk.show_code_hint')}</p>
    <button class="big-btn secondary" onClick=${() => store.set({ screen: 'shop' })}>← ${t('kiosk.back_to_items')}</button>
  </div>`;
}

function Done() {
  useLang();
  const s = store.use();
  const sale = s.sale;
  return html`<div class="kiosk-panel card done-screen" data-testid="done" onClick=${resetToAttract}>
    <div class="big-icon">🧾</div>
    <h1>${t('kiosk.thanks')}</h1>
    <h2>${t('kiosk.take_receipt')}</h2>
    ${sale && html`<p class="muted">${sale.receipt_no} · ${yuan(sale.total)}</p>`}
    ${sale && sale.change > 0 && html`<h2>${t('tender.change')} ${yuan(sale.change)}</h2>`}
  </div>`;
}

function Paused() {
  useLang();
  const s = store.use();
  const [op, setOp] = useState('');
  const [pin, setPin] = useState('');
  const [err, setErr] = useState(null);
  async function submit(e) {
    e.preventDefault();
    try { await attendantOverride(op, pin); setOp(''); setPin(''); setErr(null); } catch (x) { setErr(errText(x)); }
  }
  return html`<div class="kiosk-panel card paused-screen" data-testid="paused">
    <div class="big-icon">✋</div>
    <h1>${t('kiosk.paused')}</h1>
    <h2>${s.paused ? s.paused.message : ''}</h2>
    <p>${t('kiosk.paused_hint')}</p>
    <form class="row" onSubmit=${submit} style="max-width:520px">
      <input placeholder=${t('approve.operator')} value=${op} onInput=${e => setOp(e.target.value)} inputmode="numeric" />
      <input placeholder=${t('approve.pin')} type="password" value=${pin} onInput=${e => setPin(e.target.value)} inputmode="numeric" />
      <button class="primary" type="submit">${t('kiosk.attendant_ok')}</button>
    </form>
    ${err && html`<p class="error">${err}</p>`}
  </div>`;
}

function Shop() {
  const s = store.use();
  let main;
  if (s.screen === 'weigh') main = html`<${Weigh} />`;
  else if (s.screen === 'pay') main = html`<${Pay} />`;
  else if (s.screen === 'done') main = html`<${Done} />`;
  else if (s.screen === 'paused') main = html`<${Paused} />`;
  else main = html`<${SaleLines} sale=${s.sale} />`;
  const side = s.screen === 'shop' || s.screen === 'weigh';
  return html`<div class="kiosk">
    <${Top} />
    <main class="kiosk-body" style=${side ? '' : 'grid-template-columns: 1fr'}>
      ${main}
      ${side && html`<${Side} />`}
    </main>
  </div>`;
}

function App() {
  useLang();
  const s = store.use();
  return html`<${PageStart} gw=${gw} title=${t('app.kiosk')} signedIn=${!!s.operator} approvals=${false} login=${{
    title: t('kiosk.setup'),
    hint: t('kiosk.setup_hint'),
    onLogin: async (operator, pin) => {
      const who = await gw.call('auth.login', { operator, pin });
      // a sale is paid only in an open shift: setting the kiosk up opens the till's shift
      // (no float: the kiosk takes no cash) unless one is open already
      const current = await gw.call('shift.current', {});
      if (!current.shift) await gw.call('shift.open', { float: 0 });
      localStorage.setItem(KIOSK_KEY, JSON.stringify({ operator, pin }));
      store.set({ operator: who, screen: 'attract' });
      await loadProduce();
      await refreshSale();
    },
  }}>${s.operator && (s.screen === 'attract' ? html`<${Attract} />` : html`<${Shop} />`)}</${PageStart}>`;
}

try {
  const r = await fetch(new URL('../kiosk.json', import.meta.url));
  if (r.ok) config = { ...config, ...(await r.json()) };
} catch (e) { /* defaults */ }
await loadI18n();
render(html`<${App} />`, document.getElementById('app'));
gw.start();
