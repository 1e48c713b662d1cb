// Stocktake (盘点): a count sheet (`stock.count` without `no` makes one, with `no` adds or
// replaces counted quantities), the on-hand beside each count and the variance it would post,
// then posting (a manager's, asked inline) with the daemon's variances.
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { errText } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';
import { gw, store, Unavailable } from './context.js';
import { DocLines, DocResult, linesPayload, qtyShow, usePostDoc } from './doclines.js';

async function onHand(item) {
  try { return { on_hand: (await gw.call('stock.get', { sku: item.sku })).on_hand }; } catch (e) { return {}; }
}

export function Stocktake() {
  useLang();
  const s = store.use();
  const [no, setNo] = useState(null);
  const [open, setOpen] = useState('');
  const [lines, setLines] = useState([]);
  const [note, setNote] = useState('');
  const { busy, done, setDone, post: postDoc } = usePostDoc(setLines);
  if (s.available['stock.count'] === false) return html`<div><h2>${t('bo.stocktake')}</h2><${Unavailable} method="stock.count" /></div>`;

  async function openSheet(e) {
    e.preventDefault();
    const n = open.trim();
    if (!n) return;
    try {
      const doc = await gw.call('stock.doc', { no: n });
      if (doc.kind !== 'count') { toast(t('doc.not_a_count', { no: n }), 'warn'); return; }
      const loaded = [];
      for (const l of doc.lines) {
        const item = (await gw.call('catalog.lookup', { sku: l.sku })).item;
        loaded.push({ sku: l.sku, name: item.name, unit: item.unit, qty: qtyShow(l.counted, item.unit), ...(await onHand(item)) });
      }
      setNo(doc.state === 'draft' ? doc.no : null);
      setLines(doc.state === 'draft' ? loaded : []);
      setDone(doc.state === 'posted' ? { doc, items: Object.fromEntries(loaded.map(l => [l.sku, l])) } : null);
      setOpen('');
    } catch (x) { toast(errText(x), 'error'); }
  }
  async function save(post) {
    const payload = linesPayload(lines, { qtyKey: 'counted', allowZero: true });
    if (!payload) return;
    const saved = await postDoc('stock.count', { no: no || '', lines: payload, note }, lines);
    if (!saved) return;
    setNo(saved.no);
    if (post && await postDoc('stock.count', { no: saved.no, post: true }, lines)) setNo(null);
  }
  return html`<div>
    <h2>${t('bo.stocktake')}</h2>
    <form class="card bo-section row" onSubmit=${openSheet}>
      <span>${t('doc.sheet')}: <b data-testid="count-no">${no || t('doc.new_sheet')}</b></span>
      <div class="spacer"></div>
      <input placeholder=${t('doc.open_placeholder')} value=${open} onInput=${e => setOpen(e.target.value)} style="max-width:260px" />
      <button type="submit">${t('doc.open')}</button>
      <button type="button" onClick=${() => { setNo(null); setLines([]); setDone(null); }}>${t('doc.new_sheet')}</button>
    </form>
    <div class="card bo-section">
      <p class="muted small">${t('doc.count_help')}</p>
      <${DocLines} lines=${lines} setLines=${setLines} columns=${['on_hand', 'variance']} qtyTitle=${t('doc.counted')}
        onAdd=${onHand} testid="count" />
      <label>${t('doc.note')}<input value=${note} onInput=${e => setNote(e.target.value)} /></label>
      <div class="row"><div class="spacer"></div>
        <button data-testid="count-save" disabled=${busy || !lines.length} onClick=${() => save(false)}>${t('doc.save_sheet')}</button>
        <button class="primary big" data-testid="count-post" disabled=${busy || !lines.length} onClick=${() => save(true)}>${t('doc.post_count')}</button></div>
    </div>
    ${done && html`<${DocResult} doc=${done.doc} items=${done.items} />`}
  </div>`;
}
