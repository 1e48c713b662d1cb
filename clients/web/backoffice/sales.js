// Today's receipts (sale.list) and a receipt lookup by number (sale.get).
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { yuan, qtyText, errText, when } from '../lib/format.js';
import { gw, useLoad } from './context.js';

export function Sales() {
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
          <td>${x.receipt_no}</td><td>${when(x.completed_at || x.closed_at || x.updated_at, { time: true })}</td><td>${x.operator || ''}</td>
          <td class="r">${x.items}</td>
          <td>${(x.tenders || []).map(tt => t(`tender.${tt.method || tt}`)).join(' + ')}</td><td class="r">${yuan(x.total)}</td></tr>`)}</tbody></table>`}
      ${list.data && !list.data.length && html`<p class="muted">${t('common.none')}</p>`}
    </div>
  </div>`;
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

