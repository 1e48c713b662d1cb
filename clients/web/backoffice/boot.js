// The back office (supervisor and up): today at a glance with sales by hour, X/Z reports,
// sales list and receipt lookup, catalog search and CSV import, devices, operators.
// Every figure comes from the daemon; the page formats, it never adds money up.
import { Gateway } from '../lib/gateway.js';
import { html, render, useState, useEffect } from '../lib/html.js';
import { t, useLang, getLang, loadI18n } from '../lib/i18n.js';
import { LangToggle } from '../lib/components/lang.js';
import { yuan, parseYuan, qtyText, errText } from '../lib/format.js';
import { Store } from '../lib/store.js';
import { toast } from '../lib/components/toasts.js';
import { PageStart } from '../lib/components/start.js';
import { withApproval } from '../lib/components/approval.js';
import { trackDevices, deviceSummary } from '../lib/components/devices.js';
import { Clock } from '../lib/components/clock.js';

const gw = new Gateway({ name: 'backoffice', kind: 'backoffice' });
window.gw = gw;

const store = new Store({ operator: null, tab: 'today', devices: {}, available: {} });
let credentials = null;
const loadDevices = trackDevices(gw, store);
gw.subscribe(['devices', 'printer', 'drawer', 'alerts', 'sale']);

gw.onConnect = async () => {
  if (credentials) {
    try { store.set({ operator: await gw.call('auth.login', credentials, { raw: true }) }); } catch (e) {
      credentials = null;
      store.set({ operator: null });
    }
  }
  await loadDevices();
  const names = ['report.x', 'report.z', 'report.sales', 'sale.get', 'sale.list', 'catalog.upsert', 'operator.list'];
  store.set({ available: Object.fromEntries(names.map(m => [m, gw.can(m)])) });
};
gw.on('alerts.raised', d => toast(`⚠ ${d.message || d.kind}`, 'warn', 8000));

const call = (m, p = {}) => withApproval(pp => gw.call(m, pp), p);
const fl = k => (t(`field.${k}`) !== `field.${k}` ? t(`field.${k}`) : k);

// -- generic rendering of report maps ----------------------------------------------------------
const MONEY = new Set(['total', 'collected', 'subtotal', 'discounts', 'discount', 'rounding', 'net', 'sales',
  'refunds', 'amount', 'float', 'expected', 'paid_in', 'paid_out', 'tax', 'gross', 'lines_amount', 'sales_total',
  'refunds_total', 'counted', 'variance', 'avg_ticket', 'cost', 'profit', 'value', 'unit_price', 'paid', 'change', 'due', 'base',
  'price', 'member_price']);
const COUNT_CONTEXT = new Set(['cashiers']); // there `sales`/`refunds` are counts

function cell(key, v, ctx) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  if (v instanceof Date) return v.toLocaleString();
  if (typeof v === 'number') {
    if (key.endsWith('_bp')) return `${(v / 100).toFixed(2)}%`;
    if (key === 'count' || key.endsWith('_count') || key === 'closes' || key === 'lines') return String(v);
    if (COUNT_CONTEXT.has(ctx) && (key === 'sales' || key === 'refunds' || key === 'voids')) return String(v);
    if (MONEY.has(key) || key.endsWith('_fen')) return yuan(v);
    return String(v);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function TableOf({ rows, columns, ctx }) {
  if (!rows || !rows.length) return html`<p class="muted">${t('common.none')}</p>`;
  const keys = columns ? columns.map(c => c.key) : [...new Set(rows.flatMap(r => Object.keys(r)))];
  const title = k => (t(`field.${k}`) !== `field.${k}` ? t(`field.${k}`) : (columns && columns.find(c => c.key === k)?.title) || k);
  const type = k => columns && columns.find(c => c.key === k)?.type;
  const fmt = (k, v) => {
    const ty = type(k);
    if (ty === 'money') return yuan(v);
    if (ty === 'bp') return v === null || v === undefined ? '—' : `${(v / 100).toFixed(1)}%`;
    if (ty === 'int' || ty === 'text') return v === null || v === undefined ? '—' : String(v);
    return cell(k, v, ctx);
  };
  return html`<table class="data"><thead><tr>${keys.map(k => html`<th class=${typeof rows[0][k] === 'number' ? 'r' : ''}>${title(k)}</th>`)}</tr></thead>
    <tbody>${rows.map(r => html`<tr>${keys.map(k => html`<td class=${typeof r[k] === 'number' ? 'r' : ''}>${fmt(k, r[k])}</td>`)}</tr>`)}</tbody></table>`;
}

function MapView({ data, ctx = '' }) {
  const scalars = Object.entries(data).filter(([, v]) => v === null || typeof v !== 'object' || v instanceof Date);
  const nested = Object.entries(data).filter(([, v]) => v !== null && typeof v === 'object' && !(v instanceof Date));
  return html`<div>
    ${scalars.length > 0 && html`<table class="data kvtable"><tbody>${scalars.map(([k, v]) => html`<tr><th>${fl(k)}</th><td class=${typeof v === 'number' ? 'r' : ''}>${cell(k, v, ctx)}</td></tr>`)}</tbody></table>`}
    ${nested.map(([k, v]) => html`<div class="bo-sub"><h4>${fl(k)}</h4>
      ${Array.isArray(v) ? (v.length && typeof v[0] === 'object' ? html`<${TableOf} rows=${v} ctx=${k} />` : html`<p>${v.join(', ') || t('common.none')}</p>`)
        : html`<${MapView} data=${v} ctx=${k} />`}</div>`)}
  </div>`;
}

// -- sections -----------------------------------------------------------------------------------
function useLoad(fn, deps = []) {
  const [state, set] = useState({ loading: true, data: null, error: null });
  const reload = async () => {
    set(s => ({ ...s, loading: true }));
    try { set({ loading: false, data: await fn(), error: null }); } catch (e) { set({ loading: false, data: null, error: e }); }
  };
  useEffect(() => { reload(); }, deps);
  return [state, reload];
}

function Unavailable({ method }) {
  return html`<p class="unavailable" data-testid="unavailable">${t('bo.unavailable', { method })}</p>`;
}

function dashDay(day) { return day ? `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}` : undefined; }

function HourChart({ rows }) {
  // rows: [{hour: "09:00", amount, sales}] -> 24 bars, amounts in fen (height only)
  const byHour = new Array(24).fill(null).map((_, h) => ({ h, amount: 0, sales: 0 }));
  for (const r of rows) {
    const h = typeof r.hour === 'number' ? r.hour : parseInt(String(r.hour), 10);
    if (h >= 0 && h < 24) byHour[h] = { h, amount: r.amount || 0, sales: r.sales || 0 };
  }
  const max = Math.max(1, ...byHour.map(b => b.amount));
  const W = 760, H = 220, pad = 30, bw = (W - pad * 2) / 24;
  return html`<svg class="chart" data-testid="hour-chart" viewBox=${`0 0 ${W} ${H + 40}`} width="100%" role="img" aria-label=${t('bo.by_hour')}>
    <line x1=${pad} y1=${H} x2=${W - pad} y2=${H} stroke="#cfd4dd" />
    ${byHour.map(b => {
      const bh = Math.round((b.amount / max) * (H - 30));
      const x = pad + b.h * bw + 3;
      return html`<g>
        ${b.amount > 0 && html`<rect class="bar" data-testid="bar" x=${x} y=${H - bh} width=${bw - 6} height=${bh} rx="3"><title>${String(b.h).padStart(2, '0')}:00 · ${yuan(b.amount)} · ${b.sales}</title></rect>`}
        ${b.amount > 0 && html`<text x=${x + (bw - 6) / 2} y=${H - bh - 5} text-anchor="middle">${yuan(b.amount, { sign: false })}</text>`}
        ${b.h % 2 === 0 && html`<text x=${x + (bw - 6) / 2} y=${H + 16} text-anchor="middle">${String(b.h).padStart(2, '0')}</text>`}
      </g>`;
    })}
    <text x=${W / 2} y=${H + 34} text-anchor="middle">${t('bo.hour_axis')}</text>
  </svg>`;
}

function Today() {
  useLang();
  const s = store.use();
  const [z, reloadZ] = useLoad(() => gw.call('report.z', {}), [s.available['report.z']]);
  const day = z.data && z.data.day;
  const [hours, reloadH] = useLoad(async () => {
    if (s.available['report.sales']) return gw.call('report.sales', { by: 'hour', from: dashDay(day), to: dashDay(day) });
    return null;
  }, [day, s.available['report.sales']]);
  useEffect(() => gw.on('sale.updated', d => { if (d.state === 'completed') { reloadZ(); reloadH(); } }), []);
  const zd = z.data;
  return html`<div>
    <h2>${t('bo.today')} ${day ? html`<span class="muted small">${dashDay(day)}</span>` : ''}</h2>
    ${z.error && html`<p class="error">${errText(z.error)}</p>`}
    ${zd && html`<div class="kpis" data-testid="kpis">
      <div class="card kpi"><div class="k">${t('bo.kpi_sales')}</div><div class="v" data-testid="kpi-total">${yuan(zd.sales.total)}</div></div>
      <div class="card kpi"><div class="k">${t('bo.kpi_count')}</div><div class="v">${zd.sales.count}</div></div>
      <div class="card kpi"><div class="k">${t('bo.kpi_refunds')}</div><div class="v">${yuan(zd.refunds.total)}</div></div>
      <div class="card kpi"><div class="k">${t('bo.kpi_net')}</div><div class="v">${yuan(zd.net)}</div></div>
    </div>`}
    <div class="card bo-section">
      <h3>${t('bo.by_hour')}</h3>
      ${hours.data ? html`<${HourChart} rows=${hours.data.rows} />` : hours.error ? html`<p class="error">${errText(hours.error)}</p>` : html`<${Unavailable} method="report.sales" />`}
    </div>
  </div>`;
}

function Reports() {
  useLang();
  const s = store.use();
  const [kind, setKind] = useState('z');
  const [day, setDay] = useState('');
  const [res, setRes] = useState(null);
  const [err, setErr] = useState(null);
  async function run(k = kind) {
    setKind(k);
    setErr(null);
    try {
      setRes(k === 'x' ? await call('report.x', {}) : await call('report.z', day ? { day: day.replace(/-/g, '') } : {}));
    } catch (e) { setRes(null); setErr(e); }
  }
  useEffect(() => { if (s.available['report.z']) run('z'); }, [s.available['report.z']]);
  return html`<div>
    <h2>${t('bo.reports')}</h2>
    <div class="card bo-section"><div class="row">
      <button class=${kind === 'x' ? 'primary' : ''} disabled=${s.available['report.x'] === false} data-testid="report-x" onClick=${() => run('x')}>${t('bo.report_x')}</button>
      <button class=${kind === 'z' ? 'primary' : ''} disabled=${s.available['report.z'] === false} data-testid="report-z" onClick=${() => run('z')}>${t('bo.report_z')}</button>
      <input type="date" value=${day} onInput=${e => setDay(e.target.value)} style="max-width:200px" />
      <button onClick=${() => run(kind)}>${t('common.refresh')}</button>
    </div></div>
    ${s.available['report.z'] === false && html`<${Unavailable} method="report.z" />`}
    ${err && html`<p class="error" data-testid="report-error">${errText(err)}</p>`}
    ${res && html`<div class="card bo-section" data-testid="report"><${MapView} data=${res} /></div>`}
  </div>`;
}

function Sales() {
  useLang();
  const [list, reload] = useLoad(async () => {
    const day = await gw.call('sale.list', { limit: 200 });
    return day.sales; // summaries; a click fetches the whole sale
  });
  async function open(x) {
    setFound(await gw.call('sale.get', { id: x.id }));
  }
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const [err, setErr] = useState(null);
  async function lookup(e) {
    e && e.preventDefault();
    setErr(null);
    try { setFound(await gw.call('sale.get', { receipt_no: q.trim() })); } catch (x) { setFound(null); setErr(x); }
  }
  return html`<div>
    <h2>${t('bo.sales')}</h2>
    <form class="card bo-section row" onSubmit=${lookup}>
      <input data-testid="receipt-query" placeholder=${t('bo.receipt_placeholder')} value=${q} onInput=${e => setQ(e.target.value)} />
      <button class="primary" type="submit">${t('common.search')}</button>
    </form>
    ${err && html`<p class="error">${errText(err)}</p>`}
    ${found && html`<div class="card bo-section" data-testid="receipt"><${SaleView} sale=${found} /></div>`}
    <div class="card bo-section">
      <div class="row"><h3>${t('bo.today_sales')}</h3><div class="spacer"></div><button onClick=${reload}>${t('common.refresh')}</button></div>
      ${list.error && html`<p class="error">${errText(list.error)}</p>`}
      ${list.data && html`<table class="data" data-testid="sales-list"><thead><tr><th>${t('bo.receipt')}</th><th>${t('bo.time')}</th><th>${t('bo.operator')}</th><th class="r">${t('sale.items')}</th><th>${t('bo.tenders')}</th><th class="r">${t('sale.total')}</th></tr></thead>
        <tbody>${list.data.map(x => html`<tr data-testid="sales-row" onClick=${() => open(x)} style="cursor:pointer">
          <td>${x.receipt_no}</td><td>${fmtWhen(x.completed_at || x.closed_at || x.updated_at)}</td><td>${x.operator || ''}</td>
          <td class="r">${x.items}</td>
          <td>${(x.tenders || []).map(tt => t(`tender.${tt.method || tt}`)).join(' + ')}</td><td class="r">${yuan(x.total)}</td></tr>`)}</tbody></table>`}
      ${list.data && !list.data.length && html`<p class="muted">${t('common.none')}</p>`}
    </div>
  </div>`;
}

function fmtWhen(v) {
  if (!v) return '';
  const d = v instanceof Date ? v : new Date(v);
  return isNaN(d) ? String(v) : d.toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en-GB');
}

function SaleView({ sale }) {
  useLang();
  return html`<div class="row" style="align-items:flex-start">
    <div style="flex:1">
      <h3>${sale.receipt_no} <span class="tag">${sale.kind || ''} ${sale.state}</span></h3>
      <table class="data"><thead><tr><th>${t('line.name')}</th><th class="r">${t('line.qty')}</th><th class="r">${t('line.price')}</th><th class="r">${t('line.amount')}</th></tr></thead>
        <tbody>${sale.lines.map(l => html`<tr class=${l.voided ? 'bad' : ''}><td>${l.name}${(l.explain || []).length ? html`<div class="explain">${l.explain.map(x => html`<span>${x}</span>`)}</div>` : ''}</td>
          <td class="r">${qtyText(l)}</td><td class="r">${yuan(l.unit_price)}</td><td class="r">${yuan(l.net ?? l.amount)}</td></tr>`)}</tbody></table>
    </div>
    <div style="min-width:260px">
      <div class="kv"><span>${t('sale.subtotal')}</span><span>${yuan(sale.subtotal)}</span></div>
      <div class="kv"><span>${t('sale.discount')}</span><span>${yuan(-(sale.discount || 0))}</span></div>
      <div class="kv"><span><b>${t('sale.total')}</b></span><span>${yuan(sale.total)}</span></div>
      ${(sale.tenders || []).map(x => html`<div class="kv"><span>${t(`tender.${x.method}`)}</span><span>${yuan(x.amount)}</span></div>`)}
      ${sale.change ? html`<div class="kv"><span>${t('tender.change')}</span><span>${yuan(sale.change)}</span></div>` : ''}
      ${sale.member ? html`<div class="kv"><span>${t('key.member')}</span><span>${sale.member.name || sale.member.id || ''}</span></div>` : ''}
    </div>
  </div>`;
}

// CSV (the columns of `gatewayd catalog import`): parsed here, validated by the daemon.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', q = false;
  text = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') q = false; else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.some(x => x !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some(x => x !== '')) rows.push(row);
  return rows;
}

function percentToBp(v) {
  const m = String(v).trim().replace(/%$/, '').match(/^(\d{1,3})(?:\.(\d{1,2}))?$/);
  return m ? parseInt(m[1], 10) * 100 + parseInt((m[2] || '').padEnd(2, '0') || '0', 10) : v;
}

export function csvToItems(text) {
  const rows = parseCsv(text);
  if (!rows.length) return { items: [], lines: [] };
  const head = rows[0].map(h => h.trim().toLowerCase());
  const items = [], lines = [];
  rows.slice(1).forEach((r, i) => {
    const get = k => { const j = head.indexOf(k); return j < 0 ? undefined : (r[j] ?? '').trim(); };
    const item = { sku: get('sku'), name: get('name') };
    const money = (yuanKey, fenKey) => {
      const f = get(fenKey);
      if (f !== undefined && f !== '') return /^\d+$/.test(f) ? parseInt(f, 10) : f;
      const y = get(yuanKey);
      if (y === undefined || y === '') return undefined;
      const fen = parseYuan(y);
      return fen === null ? y : fen; // not a number: the daemon names the row and the field
    };
    const price = money('price', 'price_fen');
    if (price !== undefined) item.price = price;
    const mp = money('member_price', 'member_price_fen');
    if (mp !== undefined) item.member_price = mp;
    const cost = money('cost', 'cost_fen');
    if (cost !== undefined) item.cost = cost;
    const unit = get('unit');
    if (unit) item.unit = { 个: 'pc', 件: 'pc', 千克: 'kg', 公斤: 'kg' }[unit] || unit;
    const tax = get('tax_rate');
    if (tax !== undefined && tax !== '') item.tax_rate_bp = percentToBp(tax);
    for (const k of ['category', 'plu', 'image']) { const v = get(k); if (v) item[k] = v; }
    const bc = get('barcodes');
    if (bc !== undefined && bc !== '') item.barcodes = bc.split('|').map(x => x.trim()).filter(Boolean);
    const active = get('active');
    if (active !== undefined && active !== '') item.active = ['1', 'true', 'yes', '是', 'y'].includes(active.toLowerCase());
    items.push(item);
    lines.push(i + 2); // the CSV line number (line 1 is the header)
  });
  return { items, lines };
}

function Catalog() {
  useLang();
  const s = store.use();
  const [q, setQ] = useState('');
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  const [imp, setImp] = useState(null); // {ok?, errors?, lines, count}
  async function search(e) {
    e && e.preventDefault();
    setErr(null);
    if (!q.trim()) return;
    try { setItems((await gw.call('catalog.lookup', { query: q.trim(), limit: 100 })).items); } catch (x) { setItems(null); setErr(x); }
  }
  async function onFile(e) {
    const file = e.target.files[0];
    if (!file) return;
    const buf = await file.arrayBuffer();
    let text;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(buf); } catch (x) { text = new TextDecoder('gb18030').decode(buf); }
    const { items: rows, lines } = csvToItems(text);
    if (!rows.length) { setImp({ errors: [{ line: '-', field: '', error: t('bo.csv_empty') }] }); return; }
    try {
      const res = await call('catalog.upsert', { items: rows, source: 'web' });
      setImp({ ok: true, res, count: rows.length });
      toast(t('bo.imported', { n: res.count }), 'ok');
    } catch (x) {
      const errors = (x.details && x.details.errors) || [{ row: null, field: '', error: errText(x) }];
      setImp({ errors: errors.map(er => ({ ...er, line: er.row === null || er.row === undefined ? '-' : lines[er.row] ?? er.row })), count: rows.length });
    }
    e.target.value = '';
  }
  return html`<div>
    <h2>${t('bo.catalog')}</h2>
    <form class="card bo-section row" onSubmit=${search}>
      <input data-testid="catalog-query" placeholder=${t('bo.catalog_placeholder')} value=${q} onInput=${e => setQ(e.target.value)} />
      <button class="primary" type="submit">${t('common.search')}</button>
    </form>
    ${err && html`<p class="error">${errText(err)}</p>`}
    ${items && html`<div class="card bo-section" data-testid="catalog-results"><${TableOf} rows=${items.map(i => ({ sku: i.sku, name: i.name, unit: i.unit, price: i.price, member_price: i.member_price, category: i.category, plu: i.plu, barcodes: (i.barcodes || []).join(' '), active: i.active }))} /></div>`}
    <div class="card bo-section">
      <h3>${t('bo.csv_import')}</h3>
      <p class="muted small">${t('bo.csv_help')}</p>
      <input type="file" accept=".csv,text/csv" data-testid="csv-file" disabled=${s.available['catalog.upsert'] === false} onChange=${onFile} />
      ${imp && imp.ok && html`<p class="ok" data-testid="csv-ok">✓ ${t('bo.imported_detail', { n: imp.res.count, ins: imp.res.inserted ?? '', upd: imp.res.updated ?? '' })}</p>`}
      ${imp && imp.errors && html`<div data-testid="csv-errors"><p class="error">${t('bo.csv_rejected', { n: imp.count || 0 })}</p>
        <table class="data"><thead><tr><th>${t('bo.csv_line')}</th><th>sku</th><th>${t('bo.csv_field')}</th><th>${t('bo.csv_error')}</th></tr></thead>
        <tbody>${imp.errors.map(er => html`<tr class="bad" data-testid="csv-error"><td>${er.line}</td><td>${er.sku || ''}</td><td>${er.field || ''}</td><td>${er.error || er.message || ''}</td></tr>`)}</tbody></table></div>`}
    </div>
  </div>`;
}

function Devices() {
  useLang();
  const s = store.use();
  const list = Object.values(s.devices);
  return html`<div>
    <h2>${t('bo.devices')}</h2>
    <div class="card bo-section"><table class="data" data-testid="devices"><thead><tr><th>ID</th><th>${t('bo.kind')}</th><th>${t('bo.driver')}</th><th>${t('bo.transport')}</th><th>${t('bo.state')}</th><th>${t('bo.status')}</th></tr></thead>
      <tbody>${list.map(d => { const sum = deviceSummary(d); return html`<tr><td><b>${d.id}</b></td><td>${d.kind}</td><td>${d.driver}</td><td class="small">${d.transport}</td>
        <td><span class=${`dev ${sum.cls}`}><span class="dot"></span>${t(`dev.state.${d.state}`)}</span></td><td class="small">${sum.text}${d.error ? html`<div class="error">${d.error}</div>` : ''}</td></tr>`; })}</tbody></table></div>
  </div>`;
}

function Operators() {
  useLang();
  const s = store.use();
  const [ops] = useLoad(async () => (s.available['operator.list'] ? gw.call('operator.list', {}) : null), [s.available['operator.list']]);
  return html`<div>
    <h2>${t('bo.operators')}</h2>
    <div class="card bo-section">
      <h3>${t('bo.signed_in')}</h3>
      <p data-testid="me">${s.operator.name} (${s.operator.operator}) · ${t(`role.${s.operator.role}`)} · ${t('bo.effective_role')}: ${t(`role.${s.operator.effective_role || s.operator.role}`)}</p>
    </div>
    <div class="card bo-section">
      ${ops.data ? html`<${TableOf} rows=${ops.data.operators || []} />` : html`<${Unavailable} method="operator.list" /><p class="muted small">${t('bo.operators_cli')}</p><pre class="cmd">gatewayd operator list\ngatewayd operator add ID --name NAME --role cashier --pin-stdin</pre>`}
    </div>
  </div>`;
}

const TABS = [
  ['today', 'bo.today', Today], ['reports', 'bo.reports', Reports], ['sales', 'bo.sales', Sales],
  ['catalog', 'bo.catalog', Catalog], ['devices', 'bo.devices', Devices], ['operators', 'bo.operators', Operators],
];

function Main() {
  useLang();
  const s = store.use();
  const [, , View] = TABS.find(x => x[0] === s.tab);
  return html`<div class="bo">
    <header class="topbar">
      <div class="brand">📊 ${t('app.backoffice')}</div>
      <div class="till">${gw.welcome ? `${gw.welcome.till.store} · ${gw.welcome.till.till}` : ''}</div>
      <div class="spacer"></div>
      <div class="who" data-testid="operator">👤 ${s.operator.name} <span class="muted">(${t(`role.${s.operator.role}`)})</span></div>
      <${Clock} /><${LangToggle} />
      <button class="ghost" onClick=${async () => { await gw.call('auth.logout', {}).catch(() => null); credentials = null; store.set({ operator: null }); }}>${t('key.logout')}</button>
    </header>
    <nav>${TABS.map(([id, label]) => html`<button class=${s.tab === id ? 'on' : ''} data-testid=${`tab-${id}`} onClick=${() => store.set({ tab: id })}>${t(label)}</button>`)}</nav>
    <section class="bo-main"><${View} /></section>
  </div>`;
}

function App() {
  useLang();
  const s = store.use();
  return html`<${PageStart} gw=${gw} title=${t('app.backoffice')} signedIn=${!!s.operator} login=${{
    hint: t('login.demo_hint'),
    minRole: 'supervisor',
    onLogin: async (operator, pin) => {
      const who = await gw.call('auth.login', { operator, pin });
      if (!gw.atLeast(who.effective_role || who.role, 'supervisor')) {
        await gw.call('auth.logout', {}).catch(() => null);
        throw Object.assign(new Error(t('bo.needs_supervisor')), { code: 'forbidden', text: t('bo.needs_supervisor') });
      }
      credentials = { operator, pin };
      store.set({ operator: who });
    },
  }}>${s.operator && html`<${Main} />`}</${PageStart}>`;
}

await loadI18n();
render(html`<${App} />`, document.getElementById('app'));
gw.start();
