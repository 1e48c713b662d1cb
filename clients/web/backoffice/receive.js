// Receiving (收货): free, or against a purchase order: one of head office's on its way here
// (`stock.incoming`, kind purchase, on an enrolled till), or one whose lines are loaded from a
// file (CSV or XLSX with columns sku, qty, cost); the received quantities start at the ordered
// ones. With the supplier and the order's number (`ref`) `stock.receive` posts it.
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { errText, parseYuan } from '../lib/format.js';
import { readSheet } from '../lib/sheets.js';
import { toast } from '../lib/components/toasts.js';
import { gw, store, Unavailable } from './context.js';
import { DocLines, DocResult, linesPayload, parseQty, qtyShow, usePostDoc } from './doclines.js';
import { Incoming, useIncoming } from './incoming.js';

/** A purchase order file -> lines with their ordered quantity; bad rows are named. */
async function orderLines(file) {
  const rows = await readSheet(file);
  if (!rows.length) return { lines: [], errors: [] };
  const head = rows[0].cells.map(h => h.trim().toLowerCase());
  const col = k => head.indexOf(k);
  const lines = [], errors = [];
  for (const r of rows.slice(1)) {
    const get = k => (col(k) < 0 ? '' : (r.cells[col(k)] ?? '').trim());
    const sku = get('sku');
    let item = null;
    try { item = (await gw.call('catalog.lookup', { sku })).item; } catch (e) { errors.push({ n: r.n, error: `${sku}: ${errText(e)}` }); continue; }
    const ordered = parseQty(get('qty'));
    if (ordered === null || ordered <= 0) { errors.push({ n: r.n, error: `${sku}: ${t('doc.bad_qty', { name: item.name })}` }); continue; }
    const cost = get('cost');
    if (cost && parseYuan(cost) === null) { errors.push({ n: r.n, error: `${sku}: ${t('doc.bad_cost', { name: item.name })}` }); continue; }
    lines.push({ sku, name: item.name, unit: item.unit, ordered, qty: qtyShow(ordered, item.unit), cost });
  }
  return { lines, errors };
}

export function Receive() {
  useLang();
  const s = store.use();
  const [lines, setLines] = useState([]);
  const [supplier, setSupplier] = useState('');
  const [ref, setRef] = useState('');
  const [note, setNote] = useState('');
  const [poErrors, setPoErrors] = useState([]);
  const { busy, done, post: postDoc } = usePostDoc(setLines);
  const incoming = useIncoming();
  if (s.available['stock.receive'] === false) return html`<div><h2>${t('bo.receive')}</h2><${Unavailable} method="stock.receive" /></div>`;
  async function loadOrder(e) {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    try {
      const res = await orderLines(file);
      setLines(res.lines);
      setPoErrors(res.errors);
      if (!ref) setRef(file.name.replace(/\.(csv|xlsx)$/i, ''));
    } catch (x) { toast(errText(x), 'error'); }
  }
  async function post() {
    const payload = linesPayload(lines, { cost: 'required' });
    if (payload && await postDoc('stock.receive', { lines: payload, supplier, ref, note }, lines)) {
      setPoErrors([]);
      incoming.confirm(ref.trim());
    }
  }
  return html`<div>
    <h2>${t('bo.receive')}</h2>
    <div class="card bo-section">
      <div class="form-grid">
        <label>${t('doc.supplier')}<input data-testid="receive-supplier" value=${supplier} onInput=${e => setSupplier(e.target.value)} /></label>
        <label>${t('doc.po')}<input data-testid="receive-ref" value=${ref} onInput=${e => setRef(e.target.value)} /></label>
        <label>${t('doc.note')}<input value=${note} onInput=${e => setNote(e.target.value)} /></label>
        <label>${t('doc.po_file')}<input type="file" accept=".csv,.xlsx,text/csv" data-testid="receive-po-file" onChange=${loadOrder} /></label>
      </div>
      <p class="muted small">${t('doc.po_help')}</p>
      ${poErrors.length > 0 && html`<ul class="error" data-testid="po-errors">${poErrors.map(er => html`<li>${t('doc.row', { n: er.n })}: ${er.error}</li>`)}</ul>`}
      <${DocLines} lines=${lines} setLines=${setLines} columns=${lines.some(l => l.ordered !== undefined) ? ['ordered', 'cost'] : ['cost']}
        qtyTitle=${t('doc.received')} testid="receive" />
      <div class="row"><div class="spacer"></div>
        <button class="primary big" data-testid="receive-post" disabled=${busy || !lines.length} onClick=${post}>${t('doc.post_receive')}</button></div>
    </div>
    ${done && html`<${DocResult} doc=${done.doc} items=${done.items} />`}
    ${s.available['stock.incoming'] && html`<${Incoming} kinds=${['purchase']} state=${incoming}
      onTake=${(x, items) => { setSupplier(x.from_store); setRef(x.no); setLines(items); setPoErrors([]); }} />`}
  </div>`;
}
