// X and Z reports, rendered from whatever map they return.
import { html, useState, useEffect } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { errText } from '../lib/format.js';
import { store, call, Unavailable } from './context.js';
import { MapView } from './tables.js';

export function Reports() {
  useLang();
  const s = store.use();
  const [kind, setKind] = useState('z');
  const [day, setDay] = useState('');
  const [res, setRes] = useState(null);
  const [err, setErr] = useState(null);
  async function run(k = kind) {
    setKind(k);
    setErr(null);
    try {
      setRes(k === 'x' ? await call('report.x', {}) : await call('report.z', day ? { day: day.replace(/-/g, '') } : {}));
    } catch (e) { setRes(null); setErr(e); }
  }
  useEffect(() => { if (s.available['report.z']) run('z'); }, [s.available['report.z']]);
  return html`<div>
    <h2>${t('bo.reports')}</h2>
    <div class="card bo-section"><div class="row">
      <button class=${kind === 'x' ? 'primary' : ''} disabled=${s.available['report.x'] === false} data-testid="report-x" onClick=${() => run('x')}>${t('bo.report_x')}</button>
      <button class=${kind === 'z' ? 'primary' : ''} disabled=${s.available['report.z'] === false} data-testid="report-z" onClick=${() => run('z')}>${t('bo.report_z')}</button>
      <input type="date" value=${day} onInput=${e => setDay(e.target.value)} style="max-width:200px" />
      <button onClick=${() => run(kind)}>${t('common.refresh')}</button>
    </div></div>
    ${s.available['report.z'] === false && html`<${Unavailable} method="report.z" />`}
    ${err && html`<p class="error" data-testid="report-error">${errText(err)}</p>`}
    ${res && html`<div class="card bo-section" data-testid="report"><${MapView} data=${res} /></div>`}
  </div>`;
}

