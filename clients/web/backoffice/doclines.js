// The lines of a stock document (receiving, stocktake, transfer, write-off, price labels):
// scan or type a barcode, PLU, sku or name and Enter adds the item (again: one more); each
// line has its quantity (pieces, or kg for weighed items) and, where the document takes one,
// a unit cost in yuan. The daemon validates; the page only turns text into integer units.
import { html, useState, useRef } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { yuan, parseYuan, errText } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';
import { gw, call } from './context.js';

/** "2" or "1.250" -> thousandths (1000 = one piece or one kg); null when not a quantity. */
export function parseQty(text) {
  const m = String(text ?? '').trim().match(/^(\d{1,9})(?:\.(\d{1,3}))?$/);
  return m ? parseInt(m[1], 10) * 1000 + parseInt((m[2] || '').padEnd(3, '0'), 10) : null;
}

/** thousandths -> "2" or "1.250" (kg always with three decimals). */
export function qtyShow(qty, unit) {
  if (qty === null || qty === undefined) return '';
  const neg = qty < 0 ? '-' : '';
  const a = Math.abs(qty);
  if (unit !== 'kg' && a % 1000 === 0) return `${neg}${a / 1000}`;
  return `${neg}${Math.floor(a / 1000)}.${String(a % 1000).padStart(3, '0')}`;
}

/** The catalog item for a typed or scanned code: barcode/PLU/sku first, then a name search. */
export async function findItems(code) {
  try {
    return [(await gw.call('catalog.lookup', { barcode: code })).item];
  } catch (e) {
    if (e.code !== 'not_found') throw e;
  }
  return (await gw.call('catalog.lookup', { query: code, limit: 8 })).items;
}

/** Lines -> the call's [{sku, qty|counted, cost?}]; a bad line is toasted and gives null. */
export function linesPayload(lines, { qtyKey = 'qty', cost = false, allowZero = false } = {}) {
  if (!lines.length) { toast(t('doc.no_lines'), 'warn'); return null; }
  const out = [];
  for (const l of lines) {
    const qty = parseQty(l.qty);
    if (qty === null || (!allowZero && qty <= 0)) { toast(t('doc.bad_qty', { name: l.name }), 'warn'); return null; }
    const row = { sku: l.sku, [qtyKey]: qty };
    if (cost === 'required' || (cost && String(l.cost ?? '').trim() !== '')) {
      const fen = parseYuan(l.cost ?? '');
      if (fen === null) { toast(t('doc.bad_cost', { name: l.name }), 'warn'); return null; }
      row.cost = fen;
    }
    out.push(row);
  }
  return out;
}

/** Posting a document: `post(method, params, lines)` calls it (approval asked inline), shows
 *  the daemon's answer (`done`) and empties the lines; `busy` while it runs. The optional
 *  strings of `params` are sent only when given. */
export function usePostDoc(setLines) {
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  async function post(method, params, lines) {
    if (busy) return null;
    setBusy(true);
    try {
      const sent = Object.fromEntries(Object.entries(params)
        .map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v]).filter(([, v]) => v !== ''));
      const res = await call(method, sent);
      if (res) {
        setDone({ doc: res, items: Object.fromEntries(lines.map(l => [l.sku, l])) });
        if (res.state === 'posted') setLines([]);
        toast(t(res.state === 'posted' ? 'doc.posted' : 'doc.saved', { no: res.no }), 'ok');
      }
      return res;
    } catch (x) {
      toast(errText(x), 'error', 6000);
      return null;
    } finally { setBusy(false); }
  }
  return { busy, done, setDone, post };
}

/** Add `item` to `lines` (one more of it when it is there already). */
export function addItem(lines, item, extra = {}) {
  const at = lines.findIndex(l => l.sku === item.sku);
  if (at >= 0) {
    const cur = parseQty(lines[at].qty) ?? 0;
    const next = [...lines];
    next[at] = { ...next[at], qty: qtyShow(cur + (item.unit === 'kg' ? 0 : 1000), item.unit) };
    return next;
  }
  return [...lines, { sku: item.sku, name: item.name, unit: item.unit, qty: item.unit === 'kg' ? '' : '1', cost: '', ...extra }];
}

/**
 *  columns: which extra columns to show: `cost` (unit cost, yuan), `ordered` (a purchase
 *  order's quantity), `on_hand` (the daemon's stock when the line was added), `variance`
 *  (counted - on hand, a preview: the posted variance is the daemon's), `price` (the item's
 *  price, as the catalog has it). `qty`: false for lines without a quantity (price labels).
 *  onAdd(item) -> extra fields for a new line (e.g. its on-hand), may be async.
 */
export function DocLines({ lines, setLines, columns = [], qty = true, qtyTitle, onAdd, testid = 'doc' }) {
  useLang();
  const [code, setCode] = useState('');
  const [choices, setChoices] = useState(null);
  const qtyRefs = useRef({});
  const has = c => columns.includes(c);
  async function add(item) {
    setChoices(null);
    const extra = onAdd ? await onAdd(item) : {};
    setLines(ls => addItem(ls, item, extra));
    setTimeout(() => { const el = qtyRefs.current[item.sku]; if (el) { el.focus(); el.select(); } }, 0);
  }
  async function submit(e) {
    e.preventDefault();
    const c = code.trim();
    if (!c) return;
    setCode('');
    try {
      const found = await findItems(c);
      if (!found.length) toast(t('doc.not_found', { code: c }), 'warn');
      else if (found.length === 1) await add(found[0]);
      else setChoices(found);
    } catch (x) { toast(errText(x), 'error'); }
  }
  const set = (i, patch) => setLines(ls => ls.map((l, k) => (k === i ? { ...l, ...patch } : l)));
  const drop = i => setLines(ls => ls.filter((_, k) => k !== i));
  return html`<div class="doc-lines" data-testid=${`${testid}-lines`}>
    <form class="row" onSubmit=${submit}>
      <input data-testid=${`${testid}-code`} placeholder=${t('doc.code_placeholder')} value=${code}
        onInput=${e => setCode(e.target.value)} autocomplete="off" />
      <button class="primary" type="submit"><kbd>Enter</kbd> ${t('doc.add')}</button>
    </form>
    ${choices && html`<div class="choices">${choices.map(it => html`<button type="button" data-testid="doc-choice" onClick=${() => add(it)}>
      ${it.name} <span class="muted small">${it.sku}</span></button>`)}</div>`}
    ${lines.length > 0 && html`<table class="data">
      <thead><tr><th>sku</th><th>${t('line.name')}</th>
        ${has('ordered') && html`<th class="r">${t('doc.ordered')}</th>`}
        ${has('on_hand') && html`<th class="r">${t('doc.on_hand')}</th>`}
        ${has('price') && html`<th class="r">${t('field.price')}</th>`}
        ${qty && html`<th class="r">${qtyTitle || t('line.qty')}</th>`}
        ${has('variance') && html`<th class="r">${t('doc.variance_preview')}</th>`}
        ${has('cost') && html`<th class="r">${t('doc.cost')}</th>`}<th></th></tr></thead>
      <tbody>${lines.map((l, i) => {
        const q = parseQty(l.qty);
        return html`<tr key=${l.sku} data-testid=${`${testid}-line`} data-sku=${l.sku}>
        <td>${l.sku}</td><td>${l.name}</td>
        ${has('ordered') && html`<td class="r">${l.ordered !== undefined ? qtyShow(l.ordered, l.unit) : '—'}</td>`}
        ${has('on_hand') && html`<td class="r" data-testid="on-hand">${l.on_hand !== undefined ? qtyShow(l.on_hand, l.unit) : '—'}</td>`}
        ${has('price') && html`<td class="r">${yuan(l.price)}</td>`}
        ${qty && html`<td class="r"><input class="qty-input" data-testid=${`${testid}-qty`} inputmode="decimal" value=${l.qty}
          ref=${el => { qtyRefs.current[l.sku] = el; }} onInput=${e => set(i, { qty: e.target.value })} />
          <span class="muted small">${l.unit === 'kg' ? 'kg' : ''}</span></td>`}
        ${has('variance') && html`<td class=${`r ${q !== null && l.on_hand !== undefined && q !== l.on_hand ? 'bad' : ''}`}>${q !== null && l.on_hand !== undefined ? qtyShow(q - l.on_hand, l.unit) : '—'}</td>`}
        ${has('cost') && html`<td class="r"><input class="qty-input" data-testid=${`${testid}-cost`} inputmode="decimal" value=${l.cost}
          placeholder="0.00" onInput=${e => set(i, { cost: e.target.value })} /></td>`}
        <td><button type="button" class="ghost" title=${t('doc.remove')} onClick=${() => drop(i)}>✕</button></td></tr>`;
      })}</tbody></table>`}
  </div>`;
}

/** A posted (or saved) stock document as the daemon answered; `items`: sku -> {name, unit}. */
export function DocResult({ doc, items = {} }) {
  useLang();
  if (!doc) return null;
  const units = Object.fromEntries(Object.entries(items).map(([sku, it]) => [sku, it.unit]));
  const name = sku => (items[sku] ? items[sku].name : '');
  return html`<div class="card bo-section doc-result" data-testid="doc-result">
    <h3>✓ ${t(`doc.kind.${doc.kind}`)} <span data-testid="doc-no">${doc.no}</span> <span class="tag">${t(`doc.state.${doc.state}`)}</span></h3>
    ${doc.lines && doc.lines.some(l => l.variance !== undefined) && html`<table class="data" data-testid="doc-variances">
      <thead><tr><th>sku</th><th>${t('line.name')}</th><th class="r">${t('doc.expected')}</th><th class="r">${t('doc.counted')}</th><th class="r">${t('doc.variance')}</th></tr></thead>
      <tbody>${doc.lines.map(l => html`<tr class=${l.variance ? 'bad' : ''}><td>${l.sku}</td><td>${name(l.sku)}</td>
        <td class="r">${qtyShow(l.expected, units[l.sku])}</td><td class="r">${qtyShow(l.counted, units[l.sku])}</td>
        <td class="r" data-testid="variance">${qtyShow(l.variance, units[l.sku])}</td></tr>`)}</tbody></table>`}
    ${doc.moves && html`<table class="data" data-testid="doc-moves">
      <thead><tr><th>sku</th><th>${t('line.name')}</th><th class="r">${t('doc.move')}</th><th class="r">${t('doc.on_hand_after')}</th></tr></thead>
      <tbody>${doc.moves.map(m => html`<tr><td>${m.sku}</td><td>${name(m.sku)}</td><td class="r">${qtyShow(m.qty, units[m.sku])}</td>
        <td class="r">${qtyShow(m.on_hand, units[m.sku])}</td></tr>`)}</tbody></table>`}
  </div>`;
}
