// The back office's shared state: the connection, the page's store, calls that ask for an
// approval inline, loading state, and how a screen says the daemon does not serve it.
import { Gateway } from '../lib/gateway.js';
import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { Store } from '../lib/store.js';
import { withApproval } from '../lib/components/approval.js';

export const gw = new Gateway({ name: 'backoffice', kind: 'backoffice' });
window.gw = gw;

export const store = new Store({ operator: null, tab: 'today', devices: {}, available: {} });

/** A call that asks for a higher role's id and PIN when the daemon wants an approval. */
export const call = (m, p = {}) => withApproval(pp => gw.call(m, pp), p);

export function useLoad(fn, deps = []) {
  const [state, set] = useState({ loading: true, data: null, error: null });
  const reload = async () => {
    set(s => ({ ...s, loading: true }));
    try { set({ loading: false, data: await fn(), error: null }); } catch (e) { set({ loading: false, data: null, error: e }); }
  };
  useEffect(() => { reload(); }, deps);
  return [state, reload];
}

export function Unavailable({ method }) {
  return html`<p class="unavailable" data-testid="unavailable">${t('bo.unavailable', { method })}</p>`;
}
