// Transfers (调拨): out to another store, or in from one (with an optional unit cost, which
// updates the average); `stock.transfer` posts the document. On a till enrolled at head office
// the transfers and deliveries on their way here (`stock.incoming`) are listed: taking one fills
// the form (its store, its number as `ref`, the quantities sent) for what was counted, and head
// office reports the differences.
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { errText, when } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';
import { gw, store, useLoad, Unavailable } from './context.js';
import { DocLines, DocResult, linesPayload, usePostDoc, qtyShow } from './doclines.js';

/** `confirmed`: what this page confirmed (head office shows it received once the document
 *  reaches it over the link). */
function Incoming({ onTake, version, confirmed }) {
  useLang();
  const [list] = useLoad(() => gw.call('stock.incoming', {}), [version]);
  if (list.error) return html`<p class="error">${errText(list.error)}</p>`;
  const pending = list.data ? list.data.transfers.filter(x => x.state === 'in_transit') : [];
  return html`<div class="card bo-section" data-testid="incoming">
    <h3>${t('doc.incoming')}</h3>
    ${pending.length === 0 ? html`<p class="muted">${list.loading ? '…' : t('common.none')}</p>` : html`<table class="data">
      <thead><tr><th>${t('doc.ref')}</th><th>${t('doc.from_store')}</th><th>${t('bo.time')}</th><th class="r">${t('doc.lines')}</th><th></th></tr></thead>
      <tbody>${pending.map(x => html`<tr data-testid="incoming-row"><td>${x.no}${x.kind === 'delivery' ? html` <span class="tag">${t('doc.delivery')}</span>` : ''}</td>
        <td>${x.from_store}</td><td>${when(x.sent_at)}</td><td class="r">${x.lines.length}</td>
        <td>${confirmed.includes(x.no) ? html`<span class="tag" data-testid="incoming-confirmed">${t('doc.confirmed_here')}</span>`
          : html`<button type="button" class="primary" data-testid="incoming-take" onClick=${() => onTake(x)}>${t('doc.receive_this')}</button>`}</td></tr>`)}</tbody></table>`}
  </div>`;
}

export function Transfers() {
  useLang();
  const s = store.use();
  const [direction, setDirection] = useState('out');
  const [peer, setPeer] = useState('');
  const [ref, setRef] = useState('');
  const [note, setNote] = useState('');
  const [lines, setLines] = useState([]);
  const { busy, done, post: postDoc } = usePostDoc(setLines);
  const [version, setVersion] = useState(0); // the incoming list, read again after a post
  const [confirmed, setConfirmed] = useState([]);
  if (s.available['stock.transfer'] === false) return html`<div><h2>${t('bo.transfers')}</h2><${Unavailable} method="stock.transfer" /></div>`;
  async function post() {
    if (!peer.trim()) { toast(t('doc.peer_needed'), 'warn'); return; }
    const payload = linesPayload(lines, { cost: direction === 'in' });
    if (payload && await postDoc('stock.transfer', { direction, peer, lines: payload, ref, note }, lines)) {
      if (direction === 'in' && ref.trim()) setConfirmed(c => [...c, ref.trim()]);
      setVersion(v => v + 1);
    }
  }
  async function take(x) {
    try {
      const items = [];
      for (const l of x.lines) {
        const item = (await gw.call('catalog.lookup', { sku: l.sku })).item;
        items.push({ sku: l.sku, name: item.name, unit: item.unit, qty: qtyShow(l.sent, item.unit), cost: '' });
      }
      setDirection('in');
      setPeer(x.from_store);
      setRef(x.no);
      setLines(items);
    } catch (e) { toast(errText(e), 'error'); }
  }
  return html`<div>
    <h2>${t('bo.transfers')}</h2>
    <div class="card bo-section">
      <div class="row seg">
        <button class=${direction === 'out' ? 'primary' : ''} data-testid="transfer-out" onClick=${() => setDirection('out')}>${t('doc.transfer_out')}</button>
        <button class=${direction === 'in' ? 'primary' : ''} data-testid="transfer-in" onClick=${() => setDirection('in')}>${t('doc.transfer_in')}</button>
      </div>
      <div class="form-grid">
        <label>${direction === 'out' ? t('doc.to_store') : t('doc.from_store')}<input data-testid="transfer-peer" value=${peer} onInput=${e => setPeer(e.target.value)} /></label>
        <label>${t('doc.ref')}<input value=${ref} onInput=${e => setRef(e.target.value)} /></label>
        <label>${t('doc.note')}<input value=${note} onInput=${e => setNote(e.target.value)} /></label>
      </div>
      <${DocLines} lines=${lines} setLines=${setLines} columns=${direction === 'in' ? ['cost'] : []} testid="transfer" />
      <div class="row"><div class="spacer"></div>
        <button class="primary big" data-testid="transfer-post" disabled=${busy || !lines.length} onClick=${post}>${direction === 'out' ? t('doc.post_transfer_out') : t('doc.post_transfer_in')}</button></div>
    </div>
    ${done && html`<${DocResult} doc=${done.doc} items=${done.items} />`}
    ${s.available['stock.incoming'] && html`<${Incoming} onTake=${take} version=${version} confirmed=${confirmed} />`}
  </div>`;
}
