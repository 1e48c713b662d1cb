// Head office's master data (主数据): items, prices by zone or store, promotions with their
// schedule, operators. Each save is one versioned batch (hq.catalog.*, hq.promo.*,
// hq.operator.*), checked whole by the till's own rules (a refusal lists its rows), sent to
// every till, optionally from `effective_at` on. Money is typed in yuan and sent in fen.
import { html, useState, useEffect } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { yuan, parseYuan, errText } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';

const SECTIONS = ['items', 'prices', 'promos', 'operators'];

function Refusal({ error }) {
  if (!error) return null;
  const rows = (error.details && error.details.errors) || [];
  return html`<div class="error" data-testid="master-error"><p>${errText(error)}</p>
    ${rows.length > 0 && html`<table class="data"><tbody>${rows.map(r => html`<tr class="bad" data-testid="master-error-row"><td>${r.line ?? r.row ?? ''}</td><td>${r.sku || r.id || ''}</td><td>${r.field || ''}</td><td>${r.error || ''}</td></tr>`)}</tbody></table>`}</div>`;
}

function Saved({ res }) {
  if (!res) return null;
  return html`<p class="ok" data-testid="master-saved">✓ ${t('hq.m.saved', { version: res.version ?? '—', n: res.count })}${res.effective_at ? ` · ${t('hq.m.from')} ${new Date(res.effective_at).toLocaleString()}` : ''}</p>`;
}

/** The effective-at input: empty = at once. */
function When({ value, onInput }) {
  return html`<label class="field">${t('hq.m.effective_at')}<input type="datetime-local" data-testid="effective-at" value=${value} onInput=${e => onInput(e.target.value)} /></label>`;
}
const when = v => (v ? new Date(v) : null);

function useSave() {
  const [res, setRes] = useState(null);
  const [err, setErr] = useState(null);
  async function save(fn) {
    setRes(null); setErr(null);
    try { const r = await fn(); setRes(r); toast(t('hq.m.saved_short'), 'ok'); return r; } catch (e) { setErr(e); return null; }
  }
  return [save, res, err];
}

const EMPTY_ITEM = { sku: '', name: '', unit: 'pc', price: '', member_price: '', cost: '', category: '', tax: '13', barcodes: '', active: true };

function Items({ gw }) {
  useLang();
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const [form, setForm] = useState(EMPTY_ITEM);
  const [at, setAt] = useState('');
  const [save, res, err] = useSave();
  const [look, setLook] = useState(null);
  const [imp, setImp] = useState(null);
  const set = (k, v) => setForm(f => ({ ...f, [k]: v }));
  async function open(e) {
    e && e.preventDefault();
    setLook(null);
    try {
      const got = await gw.call('hq.catalog.get', { sku: q.trim() });
      const d = got.item.data;
      setFound(got);
      setForm({ sku: d.sku, name: d.name, unit: d.unit || 'pc', price: yuan(d.price, { sign: false }), member_price: d.member_price != null ? yuan(d.member_price, { sign: false }) : '',
        cost: d.cost != null ? yuan(d.cost, { sign: false }) : '', category: d.category || '', tax: d.tax_rate_bp != null ? String(d.tax_rate_bp / 100) : '', barcodes: (d.barcodes || []).join(' '), active: d.active !== false });
    } catch (x) {
      setFound(null);
      if (x.code === 'not_found') { setForm({ ...EMPTY_ITEM, sku: q.trim() }); setLook(t('hq.m.new_item')); } else setLook(errText(x));
    }
  }
  function item() {
    const money = k => (form[k] === '' ? undefined : parseYuan(form[k]) ?? form[k]);
    const out = { sku: form.sku.trim(), name: form.name.trim(), unit: form.unit, price: money('price'), active: form.active };
    if (form.member_price !== '') out.member_price = money('member_price');
    if (form.cost !== '') out.cost = money('cost');
    if (form.category.trim()) out.category = form.category.trim();
    if (form.tax !== '') out.tax_rate_bp = Math.round(parseFloat(form.tax) * 100);
    const codes = form.barcodes.split(/[\s,|]+/).filter(Boolean);
    if (codes.length) out.barcodes = codes;
    return out;
  }
  async function onFile(e) {
    const file = e.target.files[0];
    if (!file) return;
    const data = new Uint8Array(await file.arrayBuffer());
    e.target.value = '';
    setImp(null);
    try {
      const dry = await gw.call('hq.catalog.import', { data, filename: file.name, dry_run: true });
      setImp({ file, data, dry });
    } catch (x) { setImp({ file, error: x }); }
  }
  return html`<div>
    <form class="row wrap" onSubmit=${open}>
      <input data-testid="item-sku-query" placeholder=${t('hq.m.sku_query')} value=${q} onInput=${e => setQ(e.target.value)} style="max-width:260px" />
      <button class="primary" type="submit" data-testid="item-open">${t('hq.m.open')}</button>
      ${look && html`<span class="muted">${look}</span>`}
    </form>
    <div class="form-grid" data-testid="item-form">
      <label class="field">SKU<input data-testid="item-sku" value=${form.sku} onInput=${e => set('sku', e.target.value)} /></label>
      <label class="field">${t('hq.m.name')}<input data-testid="item-name" value=${form.name} onInput=${e => set('name', e.target.value)} /></label>
      <label class="field">${t('hq.m.unit')}<select value=${form.unit} onChange=${e => set('unit', e.target.value)}><option value="pc">pc</option><option value="kg">kg</option></select></label>
      <label class="field">${t('hq.m.price')}<input data-testid="item-price" inputmode="decimal" value=${form.price} onInput=${e => set('price', e.target.value)} /></label>
      <label class="field">${t('hq.m.member_price')}<input inputmode="decimal" value=${form.member_price} onInput=${e => set('member_price', e.target.value)} /></label>
      <label class="field">${t('hq.m.cost')}<input inputmode="decimal" value=${form.cost} onInput=${e => set('cost', e.target.value)} /></label>
      <label class="field">${t('hq.m.category')}<input value=${form.category} onInput=${e => set('category', e.target.value)} /></label>
      <label class="field">${t('hq.m.tax')}<input inputmode="decimal" value=${form.tax} onInput=${e => set('tax', e.target.value)} /></label>
      <label class="field wide">${t('hq.m.barcodes')}<input data-testid="item-barcodes" value=${form.barcodes} onInput=${e => set('barcodes', e.target.value)} /></label>
      <label class="field check"><input type="checkbox" checked=${form.active} onChange=${e => set('active', e.target.checked)} />${t('hq.m.active')}</label>
      <${When} value=${at} onInput=${setAt} />
    </div>
    <div class="row"><button class="primary" data-testid="item-save" disabled=${!gw.can('hq.catalog.upsert')} onClick=${() => save(() => gw.call('hq.catalog.upsert', { items: [item()], effective_at: when(at) }))}>${t('hq.m.save_item')}</button></div>
    <${Saved} res=${res} /><${Refusal} error=${err} />
    ${found && found.prices.length > 0 && html`<div class="bo-sub"><h4>${t('hq.m.scoped_prices')}</h4><table class="data"><tbody>${found.prices.map(p => html`<tr><td>${p.scope}</td><td class="r">${yuan(p.data.price)}</td><td class="r">${p.data.member_price != null ? yuan(p.data.member_price) : ''}</td><td class="small">v${p.version}${p.effective_at ? ` · ${new Date(p.effective_at).toLocaleString()}` : ''}</td></tr>`)}</tbody></table></div>`}
    <div class="bo-sub">
      <h4>${t('hq.m.import')}</h4>
      <p class="muted small">${t('hq.m.import_help')}</p>
      <input type="file" accept=".csv,.xlsx,text/csv" data-testid="import-file" disabled=${!gw.can('hq.catalog.import')} onChange=${onFile} />
      ${imp && imp.error && html`<${Refusal} error=${imp.error} />`}
      ${imp && imp.dry && html`<p data-testid="import-checked">${t('hq.m.import_checked', { n: imp.dry.count, file: imp.file.name })}
        <button class="primary" data-testid="import-apply" onClick=${async () => { const r = await save(() => gw.call('hq.catalog.import', { data: imp.data, filename: imp.file.name, effective_at: when(at) })); if (r) setImp(null); }}>${t('hq.m.import_apply')}</button></p>`}
    </div>
  </div>`;
}

function Prices({ gw }) {
  useLang();
  const [zone, setZone] = useState('');
  const [stores, setStores] = useState('');
  const [scope, setScope] = useState('zone');
  const [target, setTarget] = useState('');
  const [rows, setRows] = useState('');
  const [at, setAt] = useState('');
  const [save, res, err] = useSave();
  function prices() {
    // one line per item: "sku price [member_price]" in yuan
    return rows.split('\n').map(l => l.trim()).filter(Boolean).map(l => {
      const [sku, price, member] = l.split(/[\s,]+/);
      const p = { sku, price: parseYuan(price) ?? price };
      if (member) p.member_price = parseYuan(member) ?? member;
      return p;
    });
  }
  return html`<div>
    <div class="bo-sub"><h4>${t('hq.m.zone')}</h4>
      <div class="row wrap"><input data-testid="zone-name" placeholder=${t('hq.m.zone_name')} value=${zone} onInput=${e => setZone(e.target.value)} style="max-width:180px" />
        <input data-testid="zone-stores" placeholder="S001 S002" value=${stores} onInput=${e => setStores(e.target.value)} />
        <button data-testid="zone-save" disabled=${!gw.can('hq.catalog.zone')} onClick=${() => save(() => gw.call('hq.catalog.zone', { zone: zone.trim(), stores: stores.split(/[\s,]+/).filter(Boolean) }))}>${t('hq.m.zone_save')}</button></div></div>
    <div class="bo-sub"><h4>${t('hq.m.prices')}</h4>
      <div class="row wrap">
        <select value=${scope} onChange=${e => setScope(e.target.value)} data-testid="price-scope"><option value="zone">${t('hq.m.zone')}</option><option value="store">${t('hq.store')}</option></select>
        <input data-testid="price-target" placeholder=${scope === 'zone' ? t('hq.m.zone_name') : 'S001'} value=${target} onInput=${e => setTarget(e.target.value)} style="max-width:180px" />
        <${When} value=${at} onInput=${setAt} />
      </div>
      <textarea data-testid="price-rows" rows="5" placeholder=${t('hq.m.price_rows')} value=${rows} onInput=${e => setRows(e.target.value)}></textarea>
      <div class="row"><button class="primary" data-testid="price-save" disabled=${!gw.can('hq.catalog.price')} onClick=${() => save(() => gw.call('hq.catalog.price', { prices: prices(), [scope]: target.trim(), effective_at: when(at) }))}>${t('hq.m.save_prices')}</button></div>
    </div>
    <${Saved} res=${res && res.version !== undefined ? res : null} />${res && res.zone && html`<p class="ok" data-testid="zone-saved">✓ ${res.zone}: ${res.stores.join(', ')}</p>`}<${Refusal} error=${err} />
  </div>`;
}

const PROMO_KINDS = ['qty_tier', 'mix_match', 'time_price'];

function Promos({ gw }) {
  useLang();
  const [list, setList] = useState(null);
  const [f, setF] = useState({ id: '', name: '', kind: 'qty_tier', skus: '', qty: '2', price: '', weekdays: '1 2 3 4 5 6 7', start: '', end: '', from: '', until: '', members_only: false });
  const [at, setAt] = useState('');
  const [save, res, err] = useSave();
  const set = (k, v) => setF(x => ({ ...x, [k]: v }));
  const reload = async () => { try { setList((await gw.call('hq.promo.list', {})).promotions); } catch (e) { setList([]); } };
  useEffect(() => { reload(); }, [res]);
  function promo() {
    const p = { id: f.id.trim(), kind: f.kind, skus: f.skus.split(/[\s,]+/).filter(Boolean), members_only: f.members_only };
    if (f.name.trim()) p.name = f.name.trim();
    if (f.kind === 'time_price') {
      p.weekdays = f.weekdays.split(/[\s,]+/).filter(Boolean).map(Number);
      if (f.start) p.start = f.start;
      if (f.end) p.end = f.end;
      p.price = parseYuan(f.price) ?? f.price;
    } else { p.qty = parseInt(f.qty, 10); p.price = parseYuan(f.price) ?? f.price; }
    if (f.from) p.valid_from = new Date(f.from);
    if (f.until) p.valid_until = new Date(f.until);
    return p;
  }
  const d = v => (v ? new Date(v).toLocaleString() : '—');
  return html`<div>
    <div class="form-grid">
      <label class="field">ID<input data-testid="promo-id" value=${f.id} onInput=${e => set('id', e.target.value)} /></label>
      <label class="field">${t('hq.m.name')}<input data-testid="promo-name" value=${f.name} onInput=${e => set('name', e.target.value)} /></label>
      <label class="field">${t('hq.m.kind')}<select data-testid="promo-kind" value=${f.kind} onChange=${e => set('kind', e.target.value)}>${PROMO_KINDS.map(k => html`<option value=${k}>${t(`hq.m.kind.${k}`)}</option>`)}</select></label>
      <label class="field wide">SKU<input data-testid="promo-skus" value=${f.skus} onInput=${e => set('skus', e.target.value)} /></label>
      ${f.kind !== 'time_price' && html`<label class="field">${t('hq.m.qty')}<input data-testid="promo-qty" value=${f.qty} onInput=${e => set('qty', e.target.value)} /></label>`}
      <label class="field">${t('hq.m.promo_price')}<input data-testid="promo-price" inputmode="decimal" value=${f.price} onInput=${e => set('price', e.target.value)} /></label>
      ${f.kind === 'time_price' && html`
        <label class="field">${t('hq.m.weekdays')}<input value=${f.weekdays} onInput=${e => set('weekdays', e.target.value)} /></label>
        <label class="field">${t('hq.m.start')}<input type="time" value=${f.start} onInput=${e => set('start', e.target.value)} /></label>
        <label class="field">${t('hq.m.end')}<input type="time" value=${f.end} onInput=${e => set('end', e.target.value)} /></label>`}
      <label class="field">${t('hq.m.valid_from')}<input type="datetime-local" data-testid="promo-from" value=${f.from} onInput=${e => set('from', e.target.value)} /></label>
      <label class="field">${t('hq.m.valid_until')}<input type="datetime-local" data-testid="promo-until" value=${f.until} onInput=${e => set('until', e.target.value)} /></label>
      <label class="field check"><input type="checkbox" checked=${f.members_only} onChange=${e => set('members_only', e.target.checked)} />${t('hq.m.members_only')}</label>
      <${When} value=${at} onInput=${setAt} />
    </div>
    <div class="row"><button class="primary" data-testid="promo-save" disabled=${!gw.can('hq.promo.upsert')} onClick=${() => save(() => gw.call('hq.promo.upsert', { promotions: [promo()], effective_at: when(at) }))}>${t('hq.m.save_promo')}</button></div>
    <${Saved} res=${res} /><${Refusal} error=${err} />
    ${list && html`<table class="data" data-testid="promo-list"><thead><tr><th>ID</th><th>${t('hq.m.name')}</th><th>${t('hq.m.kind')}</th><th>SKU</th><th class="r">${t('hq.m.promo_price')}</th><th>${t('hq.m.schedule')}</th><th>${t('hq.m.version')}</th></tr></thead>
      <tbody>${list.map(p => html`<tr data-testid="promo-row"><td>${p.data.id}</td><td>${p.data.name || ''}</td><td>${t(`hq.m.kind.${p.data.kind}`)}</td><td class="small">${(p.data.skus || []).join(' ')}</td>
        <td class="r">${p.data.price != null ? yuan(p.data.price) : ''}${p.data.qty ? ` / ${p.data.qty}` : ''}</td>
        <td class="small">${d(p.data.valid_from)} … ${d(p.data.valid_until)}${p.data.start ? ` · ${p.data.start}–${p.data.end || '24:00'}` : ''}</td>
        <td class="small">v${p.version}${p.effective_at ? ` · ${d(p.effective_at)}` : ''}</td></tr>`)}</tbody></table>`}
  </div>`;
}

function Operators({ gw }) {
  useLang();
  const [list, setList] = useState(null);
  const [f, setF] = useState({ id: '', name: '', role: 'cashier', pin: '', active: true });
  const [save, res, err] = useSave();
  const set = (k, v) => setF(x => ({ ...x, [k]: v }));
  useEffect(() => { gw.call('hq.operator.list', {}).then(r => setList(r.operators), () => setList([])); }, [res]);
  function op() {
    const o = { id: f.id.trim(), name: f.name.trim(), role: f.role, active: f.active };
    if (f.pin) o.pin = f.pin;
    return o;
  }
  return html`<div>
    <div class="form-grid">
      <label class="field">${t('hq.m.operator_id')}<input data-testid="op-id" value=${f.id} onInput=${e => set('id', e.target.value)} /></label>
      <label class="field">${t('hq.m.name')}<input data-testid="op-name" value=${f.name} onInput=${e => set('name', e.target.value)} /></label>
      <label class="field">${t('hq.m.role')}<select data-testid="op-role" value=${f.role} onChange=${e => set('role', e.target.value)}>${gw.roles.filter(r => r !== 'viewer').map(r => html`<option value=${r}>${t(`role.${r}`)}</option>`)}</select></label>
      <label class="field">PIN<input data-testid="op-pin" type="password" inputmode="numeric" autocomplete="new-password" value=${f.pin} onInput=${e => set('pin', e.target.value)} /></label>
      <label class="field check"><input type="checkbox" checked=${f.active} onChange=${e => set('active', e.target.checked)} />${t('hq.m.active')}</label>
    </div>
    <div class="row"><button class="primary" data-testid="op-save" disabled=${!gw.can('hq.operator.upsert')} onClick=${async () => { if (await save(() => gw.call('hq.operator.upsert', { operators: [op()] }))) set('pin', ''); }}>${t('hq.m.save_operator')}</button></div>
    <${Saved} res=${res} /><${Refusal} error=${err} />
    ${list && html`<table class="data" data-testid="op-list"><thead><tr><th>${t('hq.m.operator_id')}</th><th>${t('hq.m.name')}</th><th>${t('hq.m.role')}</th><th>${t('hq.m.active')}</th><th>${t('hq.m.version')}</th></tr></thead>
      <tbody>${list.map(o => html`<tr data-testid="op-row"><td>${o.id}</td><td>${o.name}</td><td>${t(`role.${o.role}`)}</td><td>${o.active ? '✓' : '✗'}</td><td>v${o.version}</td></tr>`)}</tbody></table>`}
  </div>`;
}

export function MasterData({ gw }) {
  useLang();
  const [section, setSection] = useState('items');
  const View = { items: Items, prices: Prices, promos: Promos, operators: Operators }[section];
  return html`<div>
    <h2>${t('hq.master')}</h2>
    <p class="muted small">${t('hq.m.help')}</p>
    <div class="row wrap">${SECTIONS.map(s => html`<button class=${section === s ? 'primary' : ''} data-testid=${`master-${s}`} onClick=${() => setSection(s)}>${t(`hq.m.${s}`)}</button>`)}</div>
    <div class="card bo-section" style="margin-top:12px"><${View} gw=${gw} /></div>
  </div>`;
}
