// Pairing: a page without a token shows a code for `gatewayd pair approve CODE`.
import { html, useState, useEffect } from '../html.js';
import { t, useLang } from '../i18n.js';
import { errText } from '../format.js';

const PAIR_KEY = 'gatewayd.pair_request';

export function PairingScreen({ gw, title }) {
  useLang();
  const [req, setReq] = useState(null);
  const [status, setStatus] = useState('pending');
  const [error, setError] = useState(null);
  useEffect(() => {
    let stop = false;
    let timer = null;
    async function start() {
      try {
        let r = JSON.parse(sessionStorage.getItem(PAIR_KEY) || 'null');
        if (!r || r.expires_at < Date.now()) {
          const res = await gw.call('pair.request', { name: `${gw.name} ${navigator.platform || ''}`.trim() }, { raw: true });
          r = { ...res, expires_at: Date.now() + res.expires_s * 1000 };
          sessionStorage.setItem(PAIR_KEY, JSON.stringify(r));
        }
        if (stop) return;
        setReq(r);
        poll(r);
      } catch (e) {
        setError(errText(e));
        timer = setTimeout(start, 2000);
      }
    }
    async function poll(r) {
      if (stop) return;
      try {
        const res = await gw.call('pair.status', { request_id: r.request_id }, { raw: true });
        if (res.status === 'approved' && res.token) {
          sessionStorage.removeItem(PAIR_KEY);
          setStatus('approved');
          gw.setToken(res.token);
          return;
        }
        if (res.status !== 'pending') {
          sessionStorage.removeItem(PAIR_KEY);
          setStatus(res.status);
          timer = setTimeout(start, 3000);
          return;
        }
      } catch (e) {
        if (e.code === 'not_found') { sessionStorage.removeItem(PAIR_KEY); timer = setTimeout(start, 1000); return; }
      }
      timer = setTimeout(() => poll(r), 1500);
    }
    start();
    return () => { stop = true; clearTimeout(timer); };
  }, []);
  return html`<div class="center-screen pairing" data-testid="pairing">
    <div class="card">
      <h1>${title}</h1>
      <p class="muted">${t('pair.intro')}</p>
      <div class="pair-code" data-testid="pair-code">${req ? req.code : '······'}</div>
      <p>${t('pair.how')}</p>
      <pre class="cmd">gatewayd pair approve ${req ? req.code : 'CODE'} --role cashier</pre>
      <p class="muted">${status === 'pending' ? t('pair.waiting') : t(`pair.${status}`)}</p>
      ${error && html`<p class="error">${error}</p>`}
    </div>
  </div>`;
}
