// What is on its way to this store, as head office has it (`stock.incoming`, on a till enrolled
// at head office): transfers from other stores and deliveries (the transfers screen confirms
// them with a transfer in) and purchase orders (the receiving screen receives against them).
// Taking one gives its lines with the quantities sent, for what was counted.
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { errText, when } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';
import { gw, useLoad } from './context.js';
import { qtyShow } from './doclines.js';

/** The lines of an incoming document as lines of a stock document (`ordered` = sent). */
export async function incomingLines(x) {
  const lines = [];
  for (const l of x.lines) {
    const item = (await gw.call('catalog.lookup', { sku: l.sku })).item;
    lines.push({ sku: l.sku, name: item.name, unit: item.unit, ordered: l.sent, qty: qtyShow(l.sent, item.unit), cost: '' });
  }
  return lines;
}

/** A screen's state of the list: `confirm(no)` after posting against one (head office shows it
 *  received once the document reaches it over the link), `version` to read it again. */
export function useIncoming() {
  const [version, setVersion] = useState(0);
  const [confirmed, setConfirmed] = useState([]);
  return {
    version, confirmed,
    confirm: no => { if (no) setConfirmed(c => [...c, no]); setVersion(v => v + 1); },
  };
}

/** kinds: which documents this screen takes (transfer, delivery, purchase). */
export function Incoming({ kinds, onTake, state }) {
  useLang();
  const [list] = useLoad(() => gw.call('stock.incoming', {}), [state.version]);
  if (list.error) return html`<p class="error">${errText(list.error)}</p>`;
  const pending = list.data ? list.data.transfers.filter(x => x.state === 'in_transit' && kinds.includes(x.kind)) : [];
  async function take(x) {
    try { onTake(x, await incomingLines(x)); } catch (e) { toast(errText(e), 'error'); }
  }
  return html`<div class="card bo-section" data-testid="incoming">
    <h3>${t(kinds.includes('purchase') ? 'doc.incoming_orders' : 'doc.incoming')}</h3>
    ${pending.length === 0 ? html`<p class="muted">${list.loading ? '…' : t('common.none')}</p>` : html`<table class="data">
      <thead><tr><th>${t('doc.ref')}</th><th>${t('doc.from')}</th><th>${t('bo.time')}</th><th class="r">${t('doc.lines')}</th><th></th></tr></thead>
      <tbody>${pending.map(x => html`<tr data-testid="incoming-row"><td>${x.no} <span class="tag">${t(`doc.incoming_kind.${x.kind}`)}</span></td>
        <td>${x.from_store}</td><td>${when(x.sent_at)}</td><td class="r">${x.lines.length}</td>
        <td>${state.confirmed.includes(x.no) ? html`<span class="tag" data-testid="incoming-confirmed">${t('doc.confirmed_here')}</span>`
          : html`<button type="button" class="primary" data-testid="incoming-take" onClick=${() => take(x)}>${t('doc.receive_this')}</button>`}</td></tr>`)}</tbody></table>`}
  </div>`;
}
