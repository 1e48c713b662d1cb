// Price labels (价签): pick the items (scan, type, or search), the copies of each, and print
// them on the label printer (`label.print {skus, copies}`).
import { html, useState } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { errText } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';
import { store, call, Unavailable } from './context.js';
import { DocLines } from './doclines.js';

export function Labels() {
  useLang();
  const s = store.use();
  const [lines, setLines] = useState([]);
  const [copies, setCopies] = useState('1');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const served = s.available['label.print'] !== false;
  async function print() {
    const n = parseInt(copies, 10);
    if (!(n >= 1 && n <= 100)) { toast(t('labels.bad_copies'), 'warn'); return; }
    if (!lines.length || busy) return;
    setBusy(true);
    try {
      const res = await call('label.print', { skus: lines.map(l => l.sku), copies: n });
      if (res) { setDone(res); toast(t('labels.sent', { n: lines.length * n }), 'ok'); }
    } catch (x) { toast(errText(x), 'error', 8000); } finally { setBusy(false); }
  }
  return html`<div>
    <h2>${t('bo.labels')}</h2>
    ${!served && html`<${Unavailable} method="label.print" />`}
    <div class="card bo-section">
      <p class="muted small">${t('labels.help')}</p>
      <${DocLines} lines=${lines} setLines=${setLines} testid="labels" qty=${false} columns=${['price']}
        onAdd=${item => ({ price: item.price })} />
      <div class="row"><label>${t('labels.copies')}<input data-testid="labels-copies" inputmode="numeric" value=${copies}
        onInput=${e => setCopies(e.target.value)} style="max-width:120px" /></label>
        <div class="spacer"></div>
        <button class="primary big" data-testid="labels-print" disabled=${!served || busy || !lines.length} onClick=${print}>🏷 ${t('labels.print')}</button></div>
      ${done && html`<p class="ok" data-testid="labels-done">✓ ${t('labels.done')}${done.job_id ? ` · ${done.job_id}` : ''}</p>`}
    </div>
  </div>`;
}
