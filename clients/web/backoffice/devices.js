// The till's devices, live (devices.list and the device events).
import { html } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { deviceSummary } from '../lib/components/devices.js';
import { store } from './context.js';

export function Devices() {
  useLang();
  const s = store.use();
  const list = Object.values(s.devices);
  return html`<div>
    <h2>${t('bo.devices')}</h2>
    <div class="card bo-section"><table class="data" data-testid="devices"><thead><tr><th>ID</th><th>${t('bo.kind')}</th><th>${t('bo.driver')}</th><th>${t('bo.transport')}</th><th>${t('bo.state')}</th><th>${t('bo.status')}</th></tr></thead>
      <tbody>${list.map(d => { const sum = deviceSummary(d); return html`<tr><td><b>${d.id}</b></td><td>${d.kind}</td><td>${d.driver}</td><td class="small">${d.transport}</td>
        <td><span class=${`dev ${sum.cls}`}><span class="dot"></span>${t(`dev.state.${d.state}`)}</span></td><td class="small">${sum.text}${d.error ? html`<div class="error">${d.error}</div>` : ''}</td></tr>`; })}</tbody></table></div>
  </div>`;
}

