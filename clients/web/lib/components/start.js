// How every page starts: safe mode (the store failed its start-up check), pairing (no token),
// the connecting card, the operator login; then the page itself. The offline banner, the
// approval dialog and the toasts sit on top of whatever shows.
//
//   html`<${PageStart} gw=${gw} title=${t('app.checkout')} signedIn=${!!s.operator}
//          login=${{ hint, minRole, title, onLogin: async (operator, pin) => ... }}>
//          ${s.operator && html`<${Main} />`}
//        </${PageStart}>`
//
// `unpaired`: what a page without a token shows instead of pairing (head office's pages take
// a token only); `signedIn` true: a page without operator login.
import { html } from '../html.js';
import { t, useLang } from '../i18n.js';
import { OfflineBanner, useGwState } from './connection.js';
import { PairingScreen } from './pairing.js';
import { LoginScreen } from './login.js';
import { ApprovalDialog } from './approval.js';
import { Toasts } from './toasts.js';

function Card({ title, children, testid }) {
  return html`<div class="center-screen" data-testid=${testid}><div class="card"><h1>${title}</h1>${children}</div></div>`;
}

export function PageStart({ gw, title, signedIn, login, approvals = true, unpaired, children }) {
  useLang();
  const state = useGwState(gw);
  let body;
  if (gw.welcome && gw.welcome.safe_mode) {
    body = html`<${Card} title=${t('safe_mode.title')} testid="safe-mode"><p>${t('safe_mode.body')}</p>
      <p class="error" data-testid="safe-mode-reason">${gw.welcome.safe_mode}</p></${Card}>`;
  } else if (state === 'unpaired') body = unpaired || html`<${PairingScreen} gw=${gw} title=${title} />`;
  else if (!gw.welcome && state !== 'online') {
    body = html`<${Card} title=${title}><p class="muted">${t('offline.connecting')}</p></${Card}>`;
  } else if (!signedIn) {
    body = html`<${LoginScreen} title=${login.title || title} hint=${login.hint} minRole=${login.minRole}
      onLogin=${login.onLogin} />`;
  } else body = children;
  return html`${body}<${OfflineBanner} gw=${gw} />${approvals && html`<${ApprovalDialog} />`}<${Toasts} />`;
}
