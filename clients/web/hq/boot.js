// Head office's back office (`gatewayd hq serve`, `/`): the chain's dashboard (today by
// store and by hour against the same day last week), every till live (the `hq.till` topic:
// online, replication lag, open sale, last alert, day close), and the consolidated reports
// with charts, drill-down (store → day → sale) and CSV/XLSX export. HQ clients sign in by
// token only (`gatewayd hq token add NAME --role viewer`). Every figure is head office's;
// the page formats it (and shows the change against last week as a percentage). Master
// data (items, prices by zone, promotions, operators) is edited in master.js.
import { Gateway } from '../lib/gateway.js';
import { html, render, useState, useEffect, useRef } from '../lib/html.js';
import { t, useLang, getLang, loadI18n } from '../lib/i18n.js';
import { LangToggle } from '../lib/components/lang.js';
import { yuan, errText } from '../lib/format.js';
import { Store } from '../lib/store.js';
import { toast } from '../lib/components/toasts.js';
import { PageStart } from '../lib/components/start.js';
import { Clock } from '../lib/components/clock.js';
import { LineChart, BarChart } from '../lib/components/chart.js';
import { MasterData } from './master.js';

const gw = new Gateway({ name: 'hq', kind: 'hq' });
window.gw = gw;

const store = new Store({ tab: 'dashboard', tills: {}, today: null, changed: 0 });
gw.subscribe(['hq.till', 'hq.alert']);

const key = r => `${r.store}/${r.till}`;
gw.onConnect = async () => {
  const [{ tills }, range] = await Promise.all([
    gw.call('hq.tills', {}, { raw: true }),
    gw.call('hq.report.sales', { by: 'tender' }, { raw: true }), // its default range ends today
  ]);
  store.set({ tills: Object.fromEntries(tills.map(r => [key(r), r])), today: range.to });
};
gw.on('hq.till', d => {
  if (d.revoked && d.acked_seq === undefined) { // hq.till.revoke's own event: a partial row
    store.set(s => ({ tills: { ...s.tills, [key(d)]: { ...(s.tills[key(d)] || {}), ...d, online: false } } }));
    return;
  }
  store.set(s => ({ tills: { ...s.tills, [key(d)]: d }, changed: s.changed + 1 }));
});
gw.on('hq.alert', d => toast(`⚠ ${d.store || ''}/${d.till || ''} ${d.message}`, 'warn', 8000));

// -- dates (business days as YYYY-MM-DD; calendar arithmetic only) -----------------------------
function addDays(iso, n) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
const compact = iso => iso.replace(/-/g, '');
const dashed = bd => `${bd.slice(0, 4)}-${bd.slice(4, 6)}-${bd.slice(6, 8)}`;

function period(preset, today) {
  if (preset === 'today') return [today, today];
  if (preset === '7d') return [addDays(today, -6), today];
  if (preset === '30d') return [addDays(today, -29), today];
  if (preset === 'month') return [`${today.slice(0, 8)}01`, today];
  if (preset === 'year') return [`${today.slice(0, 5)}01-01`, today];
  return [addDays(today, -364), today]; // 12 months
}

function change(now, before) {
  if (!before) return null;
  return Math.round(((now - before) * 1000) / Math.abs(before)) / 10;
}

function Delta({ now, before }) {
  const c = change(now, before);
  if (c === null) return html`<span class="delta muted">—</span>`;
  return html`<span class=${`delta ${c >= 0 ? 'up' : 'down'}`} data-testid="delta">${c >= 0 ? '▲' : '▼'} ${Math.abs(c).toFixed(1)}%</span>`;
}

const pct = bp => (bp === null || bp === undefined ? '—' : `${(bp / 100).toFixed(1)}%`);
const shortYuan = v => (Math.abs(v) >= 1000000 ? `¥${(v / 1000000).toFixed(1)}万` : yuan(Math.round(v / 100) * 100).replace(/\.00$/, ''));

function useLoad(fn, deps) {
  const [state, set] = useState({ loading: true, data: null, error: null });
  const reload = async () => {
    try { set({ loading: false, data: await fn(), error: null }); } catch (e) { set({ loading: false, data: null, error: e }); }
  };
  useEffect(() => { reload(); }, deps);
  return [state, reload];
}

/** Reload when tills report new sales (hq.till events), at most every `ms`. */
function useLiveReload(reload, ms = 3000) {
  const s = store.use();
  const last = useRef(0);
  useEffect(() => {
    const wait = Math.max(0, last.current + ms - Date.now());
    const timer = setTimeout(() => { last.current = Date.now(); reload(); }, wait);
    return () => clearTimeout(timer);
  }, [s.changed]);
}

// -- dashboard --------------------------------------------------------------------------------
function Dashboard() {
  useLang();
  const s = store.use();
  const today = s.today;
  const lastWeek = today && addDays(today, -7);
  const [d, reload] = useLoad(async () => {
    if (!today) return null;
    const one = (by, day) => gw.call('hq.report.sales', { by, from: day, to: day });
    const [hour, hourLw, stores, storesLw, week] = await Promise.all([
      one('hour', today), one('hour', lastWeek), one('store', today), one('store', lastWeek),
      gw.call('hq.report.sales', { by: 'day', from: addDays(today, -13), to: today })]);
    return { hour, hourLw, stores, storesLw, week };
  }, [today]);
  useLiveReload(reload);
  const tills = Object.values(s.tills);
  const online = tills.filter(x => x.online).length;
  if (!d.data) return html`<div><h2>${t('hq.dashboard')}</h2>${d.error ? html`<p class="error">${errText(d.error)}</p>` : html`<p class="muted">${t('common.loading')}</p>`}</div>`;
  const { hour, hourLw, stores, storesLw, week } = d.data;
  const now = hour.totals, before = hourLw.totals;
  const hours = [...Array(24).keys()].map(h => `${String(h).padStart(2, '0')}:00`);
  const byHour = rows => { const m = Object.fromEntries(rows.map(r => [r.hour, r.amount])); return hours.map(h => m[h] ?? 0); };
  const lw = Object.fromEntries(storesLw.rows.map(r => [r.store, r]));
  const days = [...Array(14).keys()].map(i => addDays(today, i - 13));
  const ofDay = Object.fromEntries(week.rows.map(r => [r.day, r]));
  const dayValue = k => days.map(x => (ofDay[x] ? ofDay[x][k] : 0));
  return html`<div>
    <h2>${t('hq.dashboard')} <span class="muted small">${today}</span></h2>
    <div class="kpis" data-testid="hq-kpis">
      <div class="card kpi"><div class="k">${t('hq.kpi_amount')}</div><div class="v" data-testid="kpi-amount">${yuan(now.amount)}</div><${Delta} now=${now.amount} before=${before.amount} /></div>
      <div class="card kpi"><div class="k">${t('hq.kpi_traffic')}</div><div class="v" data-testid="kpi-sales">${now.sales}</div><${Delta} now=${now.sales} before=${before.sales} /></div>
      <div class="card kpi"><div class="k">${t('hq.kpi_ticket')}</div><div class="v">${yuan(now.avg_ticket)}</div><${Delta} now=${now.avg_ticket} before=${before.avg_ticket} /></div>
      <div class="card kpi"><div class="k">${t('hq.kpi_member')}</div><div class="v">${pct(now.member_share_bp)}</div><span class="delta muted">${t('hq.last_week')} ${pct(before.member_share_bp)}</span></div>
      <div class="card kpi"><div class="k">${t('hq.kpi_tills')}</div><div class="v" data-testid="kpi-tills">${online} / ${tills.length}</div><span class="delta muted">${t('hq.online')}</span></div>
    </div>
    <div class="card bo-section">
      <h3>${t('hq.today_by_hour')}</h3>
      <${LineChart} testid="dash-hours" labels=${hours} fmt=${shortYuan} title=${t('hq.today_by_hour')}
        series=${[{ name: `${t('hq.today')} ${today}`, values: byHour(hour.rows), area: true }, { name: `${t('hq.last_week')} ${lastWeek}`, values: byHour(hourLw.rows), dashed: true, color: '#8a94a6' }]} />
    </div>
    <div class="row" style="align-items:stretch">
      <div class="card bo-section" style="flex:1">
        <h3>${t('hq.today_by_store')}</h3>
        <table class="data" data-testid="dash-stores"><thead><tr><th>${t('hq.store')}</th><th class="r">${t('hq.kpi_amount')}</th><th class="r">${t('hq.last_week')}</th><th class="r">±</th><th class="r">${t('hq.kpi_traffic')}</th><th class="r">${t('hq.kpi_ticket')}</th></tr></thead>
          <tbody>${stores.rows.map(r => html`<tr data-testid="dash-store"><td><b>${r.store}</b></td><td class="r">${yuan(r.amount)}</td><td class="r muted">${lw[r.store] ? yuan(lw[r.store].amount) : '—'}</td>
            <td class="r"><${Delta} now=${r.amount} before=${lw[r.store] && lw[r.store].amount} /></td><td class="r">${r.sales}</td><td class="r">${yuan(r.avg_ticket)}</td></tr>`)}</tbody></table>
        ${!stores.rows.length && html`<p class="muted">${t('common.none')}</p>`}
      </div>
      <div class="card bo-section" style="flex:1">
        <h3>${t('hq.last_14_days')}</h3>
        <${LineChart} testid="dash-days" height=${200} labels=${days.map(x => x.slice(5))} fmt=${shortYuan}
          series=${[{ name: t('hq.kpi_amount'), values: dayValue('amount'), area: true }, { name: t('hq.profit'), values: dayValue('profit') }]} />
      </div>
    </div>
  </div>`;
}

// -- tills live ---------------------------------------------------------------------------------
function when(v) {
  if (!v) return '—';
  const d = v instanceof Date ? v : new Date(v);
  return d.toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en-GB');
}

function Tills() {
  useLang();
  const s = store.use();
  const rows = Object.values(s.tills).sort((a, b) => key(a).localeCompare(key(b)));
  return html`<div>
    <h2>${t('hq.tills')}</h2>
    <p class="muted small">${t('hq.tills_help')}</p>
    <div class="card bo-section"><table class="data" data-testid="tills"><thead><tr>
      <th>${t('hq.store')}</th><th>${t('hq.till')}</th><th>${t('hq.link')}</th><th class="r">${t('hq.lag')}</th><th>${t('hq.last_contact')}</th>
      <th>${t('hq.open_sale')}</th><th>${t('hq.alert')}</th><th>${t('hq.day_close')}</th></tr></thead>
      <tbody>${rows.map(r => html`<tr data-testid="till-row" data-till=${key(r)} data-online=${r.online ? '1' : '0'}>
        <td><b>${r.store}</b></td><td>${r.till}</td>
        <td><span class=${`dev ${r.revoked ? 'bad' : r.online ? 'ok' : 'bad'}`} data-testid="till-state"><span class="dot"></span>${r.revoked ? t('hq.revoked') : r.online ? t('hq.online') : t('hq.offline')}</span></td>
        <td class="r" data-testid="till-lag">${r.lag_events || 0} · ${(r.lag_s || 0).toFixed(1)} s</td>
        <td class="small">${when(r.last_contact)}</td>
        <td>${r.open_sale ? html`<span class="tag">${t('hq.selling')} ${when(r.open_since)}</span>` : html`<span class="muted">—</span>`}</td>
        <td class="small">${r.alert ? html`<span class="error">${r.alert}</span> <span class="muted">${when(r.alert_at)}</span>` : html`<span class="muted">—</span>`}</td>
        <td>${r.day ? html`${dashed(r.day)} ${r.day_state === 'closed' ? html`<span class="ok">✓ ${t('hq.closed')}</span>` : html`<span class="muted">${t('hq.reopened')}</span>`}` : html`<span class="muted">—</span>`}</td>
      </tr>`)}</tbody></table>
      ${!rows.length && html`<p class="muted">${t('hq.no_tills')}</p><pre class="cmd">gatewayd hq --data DIR till add S001 T01\ngatewayd --data-dir TILLDIR hq enroll ws://HQ:PORT CODE</pre>`}
    </div>
  </div>`;
}

// -- reports ------------------------------------------------------------------------------------
const KINDS = ['store', 'day', 'week', 'month', 'hour', 'item', 'category', 'tender', 'members', 'stock', 'transfers', 'replenish'];
const OWN = { members: 'hq.report.members', stock: 'hq.report.stock', transfers: 'hq.report.transfers', replenish: 'hq.report.replenish' };
const SERIES = new Set(['day', 'week', 'month', 'hour']);
const PRESETS = ['today', '7d', '30d', 'month', 'year', '12m'];

function cellOf(col, v) {
  if (v === null || v === undefined) return '—';
  if (col.type === 'money') return yuan(v);
  if (col.type === 'bp') return pct(v);
  if (col.type === 'qty') return (v / 1000).toFixed(v % 1000 ? 3 : 0);
  return String(v);
}

function ReportTable({ table, onRow }) {
  return html`<table class="data" data-testid="report-table"><thead><tr>${table.columns.map(c => html`<th class=${c.type === 'text' ? '' : 'r'}>${c.title}</th>`)}</tr></thead>
    <tbody>${table.rows.map(r => html`<tr data-testid="report-row" class=${onRow ? 'pick' : ''} onClick=${onRow ? () => onRow(r) : null}>
      ${table.columns.map(c => html`<td class=${c.type === 'text' ? '' : 'r'}>${cellOf(c, r[c.key])}</td>`)}</tr>`)}</tbody>
    ${Object.keys(table.totals || {}).length > 0 && html`<tfoot><tr>${table.columns.map((c, i) => html`<td class=${c.type === 'text' ? '' : 'r'}><b>${i === 0 ? t('hq.total') : c.key in table.totals ? cellOf(c, table.totals[c.key]) : ''}</b></td>`)}</tr></tfoot>`}
  </table>`;
}

function ReportChart({ kind, table }) {
  if (!table.rows.length) return null;
  if (SERIES.has(kind)) {
    const label = r => (kind === 'day' ? r.day.slice(5) : r[kind]);
    return html`<${LineChart} testid="report-chart" labels=${table.rows.map(label)} fmt=${shortYuan}
      series=${[{ name: t('hq.kpi_amount'), values: table.rows.map(r => r.amount), area: true }, { name: t('hq.profit'), values: table.rows.map(r => r.profit) }]} />`;
  }
  const units = q => (q / 1000).toFixed(q % 1000 ? 1 : 0);
  const [label, value, fmt] = {
    store: [r => r.store, r => r.amount, shortYuan], item: [r => r.name || r.sku, r => r.amount, shortYuan],
    category: [r => r.category, r => r.amount, shortYuan],
    tender: [r => t(`tender.${r.method}`), r => r.amount, shortYuan], members: [r => r.tier, r => r.active, String],
    stock: [r => r.store || r.sku, r => r.value || 0, shortYuan],
    transfers: [r => `${r.no} · ${r.sku}`, r => r.difference || 0, units],
    replenish: [r => r.sku, r => r.suggest, units],
  }[kind];
  return html`<${BarChart} testid="report-chart" rows=${table.rows.map(r => ({ label: label(r), value: value(r) }))} fmt=${fmt} />`;
}

function download(file) {
  const type = file.format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv';
  const url = URL.createObjectURL(new Blob([file.data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function Reports() {
  useLang();
  const s = store.use();
  const [kind, setKind] = useState('store');
  const [preset, setPreset] = useState('7d');
  const [custom, setCustom] = useState(null); // [from, to] when chosen by hand
  const [shop, setShop] = useState('');
  const [day, setDay] = useState(null);       // drill: a store's day -> its sales
  const [sale, setSale] = useState(null);
  const range = custom || (s.today ? period(preset, s.today) : null);
  const params = () => {
    if (kind === 'replenish') return { store: shop };
    const p = { from: range[0], to: range[1] };
    if (shop) p.store = shop;
    if (!OWN[kind]) p.by = kind;
    return p;
  };
  const [rep] = useLoad(async () => {
    if (!range || (kind === 'replenish' && !shop)) return null;
    const table = await gw.call(OWN[kind] || 'hq.report.sales', params());
    return { kind, shop, table }; // drawn as what it is, while the next one loads
  }, [kind, range && range.join(), shop]);
  const [sales] = useLoad(async () => (day ? gw.call('hq.sales', { store: shop, day: compact(day), limit: 500 }) : null), [day, shop]);
  const stores = [...new Set(Object.values(s.tills).map(x => x.store))].sort();
  async function exportAs(format) {
    try {
      download(await gw.call('hq.report.export', { report: OWN[kind] ? kind : 'sales', params: params(), format }));
    } catch (e) { toast(errText(e), 'error'); }
  }
  const drillable = d => d.kind === 'store' || (d.kind === 'day' && d.shop);
  function drill(shown, r) {
    if (shown === 'store') { setShop(r.store); setKind('day'); setDay(null); setSale(null); }
    else { setDay(r.day); setSale(null); }
  }
  const crumbs = [[t('hq.chain'), () => { setShop(''); setKind('store'); setDay(null); setSale(null); }]];
  if (shop) crumbs.push([shop, () => { setKind('day'); setDay(null); setSale(null); }]);
  if (day) crumbs.push([day, () => setSale(null)]);
  if (sale) crumbs.push([sale.receipt_no, null]);
  return html`<div>
    <h2>${t('hq.reports')}</h2>
    <div class="card bo-section">
      <div class="row wrap">
        ${KINDS.map(k => html`<button class=${kind === k ? 'primary' : ''} data-testid=${`kind-${k}`} onClick=${() => { setKind(k); setDay(null); setSale(null); }}>${t(`hq.by.${k}`)}</button>`)}
      </div>
      <div class="row wrap" style="margin-top:10px">
        ${PRESETS.map(p => html`<button class=${!custom && preset === p ? 'on-soft' : 'ghost-soft'} data-testid=${`period-${p}`} onClick=${() => { setCustom(null); setPreset(p); }}>${t(`hq.period.${p}`)}</button>`)}
        <input type="date" data-testid="from" value=${range ? range[0] : ''} onChange=${e => setCustom([e.target.value, range[1]])} style="max-width:170px" />
        <input type="date" data-testid="to" value=${range ? range[1] : ''} onChange=${e => setCustom([range[0], e.target.value])} style="max-width:170px" />
        <select data-testid="store" value=${shop} onChange=${e => { setShop(e.target.value); setDay(null); setSale(null); }}>
          <option value="">${t('hq.chain')}</option>${stores.map(x => html`<option value=${x}>${x}</option>`)}
        </select>
        <div class="spacer"></div>
        <button data-testid="export-csv" onClick=${() => exportAs('csv')}>⭳ CSV</button>
        <button data-testid="export-xlsx" onClick=${() => exportAs('xlsx')}>⭳ Excel</button>
      </div>
    </div>
    <div class="crumbs" data-testid="crumbs">${crumbs.map(([label, go], i) => html`${i ? ' › ' : ''}${go ? html`<a href="#" onClick=${e => { e.preventDefault(); go(); }}>${label}</a>` : html`<b>${label}</b>`}`)}</div>
    ${rep.error && html`<p class="error" data-testid="report-error">${errText(rep.error)}</p>`}
    ${kind === 'replenish' && !shop && html`<p class="muted" data-testid="pick-store">${t('hq.pick_store')}</p>`}
    ${sale ? html`<div class="card bo-section" data-testid="sale"><${SaleView} sale=${sale} /></div>`
      : day ? html`<div class="card bo-section"><h3>${shop} · ${day}</h3>${sales.data && html`<table class="data" data-testid="day-sales"><thead><tr><th>${t('hq.receipt')}</th><th>${t('hq.till')}</th><th>${t('hq.time')}</th><th>${t('hq.operator')}</th><th class="r">${t('hq.kpi_amount')}</th></tr></thead>
          <tbody>${sales.data.sales.map(x => html`<tr data-testid="day-sale" class="pick" onClick=${async () => setSale(await gw.call('hq.sale.get', { receipt_no: x.receipt_no }))}>
            <td>${x.receipt_no} ${x.kind === 'refund' ? html`<span class="tag">${t('hq.refund')}</span>` : ''}</td><td>${x.till}</td><td>${when(x.at)}</td><td>${x.operator || ''}</td><td class="r">${yuan(x.total)}</td></tr>`)}</tbody></table>`}</div>`
      : rep.data && html`<div class="card bo-section" data-testid="report" data-kind=${rep.data.kind}>
          <h3>${rep.data.table.title} <span class="muted small">${rep.data.table.from} … ${rep.data.table.to}</span></h3>
          <${ReportChart} kind=${rep.data.kind} table=${rep.data.table} />
          ${drillable(rep.data) && html`<p class="muted small">${t('hq.drill_hint')}</p>`}
          <${ReportTable} table=${rep.data.table} onRow=${drillable(rep.data) ? r => drill(rep.data.kind, r) : null} />
        </div>`}
  </div>`;
}

function SaleView({ sale }) {
  useLang();
  return html`<div class="row" style="align-items:flex-start">
    <div style="flex:1">
      <h3>${sale.receipt_no} <span class="tag">${sale.kind}</span></h3>
      <p class="muted small">${sale.store} / ${sale.till} · ${when(sale.at)} · ${sale.operator || ''}</p>
      <table class="data" data-testid="sale-lines"><thead><tr><th>${t('hq.sku')}</th><th class="r">${t('hq.qty')}</th><th class="r">${t('hq.kpi_amount')}</th></tr></thead>
        <tbody>${sale.lines.map(l => html`<tr><td>${l.sku}</td><td class="r">${(l.qty / 1000).toFixed(l.qty % 1000 ? 3 : 0)}</td><td class="r">${yuan(l.amount)}</td></tr>`)}</tbody></table>
    </div>
    <div style="min-width:260px">
      <div class="kv"><span>${t('sale.subtotal')}</span><span>${yuan(sale.subtotal)}</span></div>
      <div class="kv"><span>${t('sale.discount')}</span><span>${yuan(-(sale.discount || 0))}</span></div>
      <div class="kv"><span><b>${t('sale.total')}</b></span><span data-testid="sale-total">${yuan(sale.total)}</span></div>
      ${sale.tenders.map(x => html`<div class="kv"><span>${t(`tender.${x.method}`)}</span><span>${yuan(x.amount)}</span></div>`)}
      ${sale.change ? html`<div class="kv"><span>${t('tender.change')}</span><span>${yuan(sale.change)}</span></div>` : ''}
    </div>
  </div>`;
}

// -- the page -----------------------------------------------------------------------------------
const Master = () => html`<${MasterData} gw=${gw} />`;
const TABS = [['dashboard', 'hq.dashboard', Dashboard], ['tills', 'hq.tills', Tills], ['reports', 'hq.reports', Reports],
  ['master', 'hq.master', Master]];

function Main() {
  useLang();
  const s = store.use();
  const [, , View] = TABS.find(x => x[0] === s.tab);
  const offline = Object.values(s.tills).filter(x => !x.online && !x.revoked).length;
  return html`<div class="bo">
    <header class="topbar">
      <div class="brand">🏢 ${t('app.hq')}</div>
      <div class="till">${t(`role.${gw.role}`)}</div>
      <div class="spacer"></div>
      <${Clock} /><${LangToggle} />
    </header>
    <nav>${TABS.filter(([id]) => id !== 'master' || gw.can('hq.catalog.get')).map(([id, label]) => html`<button class=${s.tab === id ? 'on' : ''} data-testid=${`tab-${id}`} onClick=${() => store.set({ tab: id })}>${t(label)}${id === 'tills' && offline ? html` <span class="tag bad" data-testid="offline-count">${offline}</span>` : ''}</button>`)}</nav>
    <section class="bo-main"><${View} /></section>
  </div>`;
}

function NeedsToken() {
  useLang();
  return html`<div class="center-screen" data-testid="needs-token"><div class="card">
    <h1>${t('app.hq')}</h1>
    <p>${t('hq.needs_token')}</p>
    <pre class="cmd">gatewayd hq --data DIR token add NAME --role viewer\n${location.origin}/#token=TOKEN</pre>
  </div></div>`;
}

function App() {
  useLang();
  return html`<${PageStart} gw=${gw} title=${t('app.hq')} signedIn=${true} approvals=${false}
    unpaired=${html`<${NeedsToken} />`}><${Main} /></${PageStart}>`;
}

await loadI18n();
render(html`<${App} />`, document.getElementById('app'));
gw.start();
