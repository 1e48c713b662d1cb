// The catalog (商品): search (sku, barcode, pinyin initials, name); edit an item where this
// till may (catalog.upsert, a manager's: asked inline); import a CSV or an Excel (XLSX) file
// in the columns of `gatewayd catalog import`, parsed here and validated by the daemon, all
// rows or none, its errors shown per file row; export the whole catalog (catalog.list) as
// XLSX or CSV in the same columns, so an exported file imports back.
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { yuan, parseYuan, errText } from '../lib/format.js';
import { readSheet, downloadXlsx, downloadCsv } from '../lib/sheets.js';
import { toast } from '../lib/components/toasts.js';
import { gw, store, call } from './context.js';

export const COLUMNS = ['sku', 'name', 'barcodes', 'unit', 'price', 'member_price', 'tax_rate', 'category', 'cost', 'plu', 'active', 'image'];

const plainYuan = fen => (fen === null || fen === undefined ? '' : yuan(fen, { sign: false }));
const percent = bp => `${Math.floor(bp / 100)}${bp % 100 ? `.${String(bp % 100).padStart(2, '0').replace(/0$/, '')}` : ''}`;

function percentToBp(v) {
  const m = String(v).trim().replace(/%$/, '').match(/^(\d{1,3})(?:\.(\d{1,2}))?$/);
  return m ? parseInt(m[1], 10) * 100 + parseInt((m[2] || '').padEnd(2, '0') || '0', 10) : v;
}

/** Sheet rows [{n, cells}] (the first one the header) -> items and each item's row number. */
export function rowsToItems(rows) {
  if (!rows.length) return { items: [], lines: [] };
  const head = rows[0].cells.map(h => String(h).trim().toLowerCase());
  const items = [], lines = [];
  for (const r of rows.slice(1)) {
    const get = k => { const j = head.indexOf(k); return j < 0 ? undefined : String(r.cells[j] ?? '').trim(); };
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
    lines.push(r.n);
  }
  return { items, lines };
}

function itemRow(i) {
  return [i.sku, i.name, (i.barcodes || []).join('|'), i.unit, plainYuan(i.price), plainYuan(i.member_price),
    percent(i.tax_rate_bp), i.category || '', plainYuan(i.cost), i.plu || '', i.active ? '1' : '0', i.image || ''];
}

async function allItems(progress) {
  const items = [];
  let after = null;
  for (;;) {
    const page = await call('catalog.list', after ? { after, limit: 2000 } : { limit: 2000 });
    if (!page) return null;
    items.push(...page.items);
    progress(items.length);
    if (!page.next) return items;
    after = page.next;
  }
}

/** Head office owns this till's items once it has sent them: the daemon refuses local edits. */
const hqOwned = x => x && x.code === 'forbidden' && x.details && x.details.owner === 'hq';

function EditItem({ item, onDone, onRefused }) {
  useLang();
  const [f, setF] = useState({
    name: item.name, price: plainYuan(item.price), member_price: plainYuan(item.member_price), category: item.category || '',
    plu: item.plu || '', barcodes: (item.barcodes || []).join(' '), tax: percent(item.tax_rate_bp), active: item.active,
  });
  const set = k => e => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  async function save(e) {
    e.preventDefault();
    const price = parseYuan(f.price);
    const mp = f.member_price.trim() ? parseYuan(f.member_price) : null;
    if (price === null || (f.member_price.trim() && mp === null)) { toast(t('msg.bad_amount'), 'warn'); return; }
    const changed = {
      ...item, name: f.name.trim(), price, member_price: mp, category: f.category.trim() || null, plu: f.plu.trim() || null,
      barcodes: f.barcodes.split(/[\s|,]+/).filter(Boolean), tax_rate_bp: percentToBp(f.tax), active: f.active,
    };
    try {
      const res = await call('catalog.upsert', { items: [changed], source: 'web' });
      if (res) { toast(t('cat.saved', { name: changed.name }), 'ok'); onDone(changed); }
    } catch (x) {
      if (hqOwned(x)) { onRefused(x); return; }
      const errs = (x.details && x.details.errors) || [];
      toast(errs.length ? errs.map(er => `${er.field}: ${er.error}`).join('; ') : errText(x), 'error', 8000);
    }
  }
  return html`<form class="card bo-section" data-testid="item-edit" onSubmit=${save}>
    <h3>${t('cat.edit')} ${item.sku}</h3>
    <div class="form-grid">
      <label>${t('line.name')}<input data-testid="edit-name" value=${f.name} onInput=${set('name')} /></label>
      <label>${t('field.price')}<input data-testid="edit-price" inputmode="decimal" value=${f.price} onInput=${set('price')} /></label>
      <label>${t('field.member_price')}<input inputmode="decimal" value=${f.member_price} onInput=${set('member_price')} /></label>
      <label>${t('cat.tax')}<input inputmode="decimal" value=${f.tax} onInput=${set('tax')} /></label>
      <label>${t('cat.category')}<input value=${f.category} onInput=${set('category')} /></label>
      <label>PLU<input inputmode="numeric" value=${f.plu} onInput=${set('plu')} /></label>
      <label>${t('cat.barcodes')}<input value=${f.barcodes} onInput=${set('barcodes')} /></label>
      <label class="check"><input type="checkbox" checked=${f.active} onChange=${set('active')} /> ${t('cat.active')}</label>
    </div>
    <div class="row"><div class="spacer"></div>
      <button type="button" onClick=${() => onDone(null)}>${t('common.cancel')}</button>
      <button class="primary" type="submit" data-testid="edit-save">${t('cat.save')}</button></div>
  </form>`;
}

export function Catalog() {
  useLang();
  const s = store.use();
  const [q, setQ] = useState('');
  const [items, setItems] = useState(null);
  const [err, setErr] = useState(null);
  const [editing, setEditing] = useState(null);
  const [imp, setImp] = useState(null); // {ok?, errors?, count}
  const [exporting, setExporting] = useState(null);
  const [owned, setOwned] = useState(null); // head office's refusal, once met
  const canEdit = s.available['catalog.upsert'] !== false && !owned;
  async function search(e) {
    e && e.preventDefault();
    setErr(null);
    if (!q.trim()) return;
    try { setItems((await gw.call('catalog.lookup', { query: q.trim(), limit: 100, include_inactive: true })).items); } catch (x) { setItems(null); setErr(x); }
  }
  async function edit(i) {
    // the upsert replaces the cost: the form starts from the item with its cost (catalog.list)
    try {
      const full = s.available['catalog.list'] ? (await call('catalog.list', { skus: [i.sku] })) : null;
      setEditing(full && full.items.length ? full.items[0] : i);
    } catch (x) { toast(errText(x), 'error'); }
  }
  async function onFile(e) {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    let rows;
    try { rows = await readSheet(file); } catch (x) { setImp({ errors: [{ line: '-', field: '', error: errText(x) }] }); return; }
    const { items: parsed, lines } = rowsToItems(rows);
    if (!parsed.length) { setImp({ errors: [{ line: '-', field: '', error: t('bo.csv_empty') }] }); return; }
    try {
      const res = await call('catalog.upsert', { items: parsed, source: 'web' });
      if (!res) return;
      setImp({ ok: true, res, count: parsed.length });
      toast(t('bo.imported', { n: res.count }), 'ok');
    } catch (x) {
      if (hqOwned(x)) { setOwned(x); setImp(null); return; }
      const errors = (x.details && x.details.errors) || [{ row: null, field: '', error: errText(x) }];
      setImp({ errors: errors.map(er => ({ ...er, line: er.row === null || er.row === undefined ? '-' : lines[er.row] ?? er.row })), count: parsed.length });
    }
  }
  async function exportAll(kind) {
    setExporting(0);
    try {
      const all = await allItems(n => setExporting(n));
      if (!all) return;
      const rows = [COLUMNS, ...all.map(itemRow)];
      if (kind === 'xlsx') downloadXlsx('catalog.xlsx', rows); else downloadCsv('catalog.csv', rows);
      toast(t('cat.exported', { n: all.length }), 'ok');
    } catch (x) { toast(errText(x), 'error'); } finally { setExporting(null); }
  }
  return html`<div>
    <h2>${t('bo.catalog')}</h2>
    <form class="card bo-section row" onSubmit=${search}>
      <input data-testid="catalog-query" placeholder=${t('bo.catalog_placeholder')} value=${q} onInput=${e => setQ(e.target.value)} />
      <button class="primary" type="submit">${t('common.search')}</button>
    </form>
    ${err && html`<p class="error">${errText(err)}</p>`}
    ${owned && html`<p class="unavailable" data-testid="catalog-hq-owned">🏢 ${t('cat.hq_owned')}</p>`}
    ${editing && html`<${EditItem} key=${editing.sku} item=${editing} onRefused=${x => { setOwned(x); setEditing(null); }} onDone=${changed => {
      setEditing(null);
      if (changed && items) setItems(items.map(i => (i.sku === changed.sku ? changed : i)));
    }} />`}
    ${items && html`<div class="card bo-section" data-testid="catalog-results">
      ${items.length === 0 ? html`<p class="muted">${t('common.none')}</p>` : html`<table class="data">
        <thead><tr><th>sku</th><th>${t('line.name')}</th><th>${t('cat.unit')}</th><th class="r">${t('field.price')}</th><th class="r">${t('field.member_price')}</th>
          <th>${t('cat.category')}</th><th>PLU</th><th>${t('cat.barcodes')}</th><th>${t('cat.active')}</th><th></th></tr></thead>
        <tbody>${items.map(i => html`<tr data-testid="catalog-row" data-sku=${i.sku} class=${i.active ? '' : 'bad'}>
          <td>${i.sku}</td><td>${i.name}</td><td>${i.unit}</td><td class="r">${yuan(i.price)}</td><td class="r">${i.member_price === null ? '—' : yuan(i.member_price)}</td>
          <td>${i.category || ''}</td><td>${i.plu || ''}</td><td class="small">${(i.barcodes || []).join(' ')}</td><td>${i.active ? '✓' : '✗'}</td>
          <td><button type="button" data-testid="item-edit-btn" disabled=${!canEdit} onClick=${() => edit(i)}>${t('cat.edit')}</button></td></tr>`)}</tbody></table>`}
    </div>`}
    <div class="card bo-section">
      <h3>${t('cat.import')}</h3>
      <p class="muted small">${t('cat.import_help')}</p>
      <input type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" data-testid="csv-file" disabled=${!canEdit} onChange=${onFile} />
      ${imp && imp.ok && html`<p class="ok" data-testid="csv-ok">✓ ${t('bo.imported_detail', { n: imp.res.count, ins: imp.res.inserted ?? '', upd: imp.res.updated ?? '' })}</p>`}
      ${imp && imp.errors && html`<div data-testid="csv-errors"><p class="error">${t('bo.csv_rejected', { n: imp.count || 0 })}</p>
        <table class="data"><thead><tr><th>${t('bo.csv_line')}</th><th>sku</th><th>${t('bo.csv_field')}</th><th>${t('bo.csv_error')}</th></tr></thead>
        <tbody>${imp.errors.map(er => html`<tr class="bad" data-testid="csv-error"><td>${er.line}</td><td>${er.sku || ''}</td><td>${er.field || ''}</td><td>${er.error || er.message || ''}</td></tr>`)}</tbody></table></div>`}
    </div>
    <div class="card bo-section row">
      <h3>${t('cat.export')}</h3><div class="spacer"></div>
      ${exporting !== null && html`<span class="muted" data-testid="export-progress">${t('cat.exporting', { n: exporting })}</span>`}
      <button data-testid="export-xlsx" disabled=${exporting !== null || s.available['catalog.list'] === false} onClick=${() => exportAll('xlsx')}>⬇ Excel (XLSX)</button>
      <button data-testid="export-csv" disabled=${exporting !== null || s.available['catalog.list'] === false} onClick=${() => exportAll('csv')}>⬇ CSV</button>
    </div>
  </div>`;
}
