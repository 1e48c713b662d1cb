// Who is signed in, and the till's operators (operator.list; never a PIN).
import { html } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { gw, store, useLoad, Unavailable } from './context.js';
import { TableOf } from './tables.js';

export function Operators() {
  useLang();
  const s = store.use();
  const [ops] = useLoad(async () => (s.available['operator.list'] ? gw.call('operator.list', {}) : null), [s.available['operator.list']]);
  return html`<div>
    <h2>${t('bo.operators')}</h2>
    <div class="card bo-section">
      <h3>${t('bo.signed_in')}</h3>
      <p data-testid="me">${s.operator.name} (${s.operator.operator}) · ${t(`role.${s.operator.role}`)} · ${t('bo.effective_role')}: ${t(`role.${s.operator.effective_role || s.operator.role}`)}</p>
    </div>
    <div class="card bo-section">
      ${ops.data ? html`<${TableOf} rows=${ops.data.operators || []} />` : html`<${Unavailable} method="operator.list" /><p class="muted small">${t('bo.operators_cli')}</p><pre class="cmd">gatewayd operator list\ngatewayd operator add ID --name NAME --role cashier --pin-stdin</pre>`}
    </div>
  </div>`;
}

