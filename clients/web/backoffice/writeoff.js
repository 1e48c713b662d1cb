// Write-offs (报废): lines and a reason (required); `stock.writeoff` posts the document.
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { toast } from '../lib/components/toasts.js';
import { store, Unavailable } from './context.js';
import { DocLines, DocResult, linesPayload, usePostDoc } from './doclines.js';

const REASONS = ['expired', 'damaged', 'spoiled', 'lost'];

export function Writeoff() {
  useLang();
  const s = store.use();
  const [reason, setReason] = useState(REASONS[0]);
  const [other, setOther] = useState('');
  const [note, setNote] = useState('');
  const [lines, setLines] = useState([]);
  const { busy, done, post: postDoc } = usePostDoc(setLines);
  if (s.available['stock.writeoff'] === false) return html`<div><h2>${t('bo.writeoff')}</h2><${Unavailable} method="stock.writeoff" /></div>`;
  async function post() {
    const why = reason === 'other' ? other.trim() : t(`doc.reason.${reason}`);
    if (!why) { toast(t('doc.reason_needed'), 'warn'); return; }
    const payload = linesPayload(lines);
    if (payload) await postDoc('stock.writeoff', { lines: payload, reason: why, note }, lines);
  }
  return html`<div>
    <h2>${t('bo.writeoff')}</h2>
    <div class="card bo-section">
      <div class="row seg">${[...REASONS, 'other'].map(r => html`<button class=${reason === r ? 'primary' : ''} data-testid=${`reason-${r}`}
        onClick=${() => setReason(r)}>${t(`doc.reason.${r}`)}</button>`)}
        ${reason === 'other' && html`<input placeholder=${t('doc.reason_placeholder')} value=${other} onInput=${e => setOther(e.target.value)} />`}</div>
      <${DocLines} lines=${lines} setLines=${setLines} testid="writeoff" />
      <label>${t('doc.note')}<input value=${note} onInput=${e => setNote(e.target.value)} /></label>
      <div class="row"><div class="spacer"></div>
        <button class="primary big" data-testid="writeoff-post" disabled=${busy || !lines.length} onClick=${post}>${t('doc.post_writeoff')}</button></div>
    </div>
    ${done && html`<${DocResult} doc=${done.doc} items=${done.items} />`}
  </div>`;
}
