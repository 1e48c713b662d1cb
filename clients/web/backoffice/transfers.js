// Transfers (调拨): out to another store, or in from one (with an optional unit cost, which
// updates the average); `stock.transfer` posts the document. On a till enrolled at head office
// the transfers and deliveries on their way here (`stock.incoming`) are listed: taking one fills
// the form (its store, its number as `ref`, the quantities sent) for what was counted, and head
// office reports the differences.
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { toast } from '../lib/components/toasts.js';
import { store, Unavailable } from './context.js';
import { DocLines, DocResult, linesPayload, usePostDoc } from './doclines.js';
import { Incoming, useIncoming } from './incoming.js';

export function Transfers() {
  useLang();
  const s = store.use();
  const [direction, setDirection] = useState('out');
  const [peer, setPeer] = useState('');
  const [ref, setRef] = useState('');
  const [note, setNote] = useState('');
  const [lines, setLines] = useState([]);
  const { busy, done, post: postDoc } = usePostDoc(setLines);
  const incoming = useIncoming();
  if (s.available['stock.transfer'] === false) return html`<div><h2>${t('bo.transfers')}</h2><${Unavailable} method="stock.transfer" /></div>`;
  async function post() {
    if (!peer.trim()) { toast(t('doc.peer_needed'), 'warn'); return; }
    const payload = linesPayload(lines, { cost: direction === 'in' });
    if (payload && await postDoc('stock.transfer', { direction, peer, lines: payload, ref, note }, lines)) {
      incoming.confirm(direction === 'in' ? ref.trim() : null);
    }
  }
  function take(x, items) {
    setDirection('in');
    setPeer(x.from_store);
    setRef(x.no);
    setLines(items);
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
      <${DocLines} lines=${lines} setLines=${setLines} testid="transfer"
        columns=${[...(lines.some(l => l.ordered !== undefined) ? ['ordered'] : []), ...(direction === 'in' ? ['cost'] : [])]} />
      <div class="row"><div class="spacer"></div>
        <button class="primary big" data-testid="transfer-post" disabled=${busy || !lines.length} onClick=${post}>${direction === 'out' ? t('doc.post_transfer_out') : t('doc.post_transfer_in')}</button></div>
    </div>
    ${done && html`<${DocResult} doc=${done.doc} items=${done.items} />`}
    ${s.available['stock.incoming'] && html`<${Incoming} kinds=${['transfer', 'delivery']} onTake=${take} state=${incoming} />`}
  </div>`;
}
