// The connection's state as a hook, and the banner shown while the daemon is unreachable.
import { html, useState, useEffect } from '../html.js';
import { t, useLang } from '../i18n.js';

export function useGwState(gw) {
  const [s, set] = useState(gw.state);
  useEffect(() => gw.onState(set), []);
  return s;
}

export function OfflineBanner({ gw }) {
  useLang();
  const state = useGwState(gw);
  const [show, setShow] = useState(false);
  useEffect(() => {
    if (state !== 'offline' && state !== 'connecting') { setShow(false); return undefined; }
    const timer = setTimeout(() => setShow(true), 400); // no flicker on a quick reconnect
    return () => clearTimeout(timer);
  }, [state]);
  if (!show) return null;
  return html`<div class="offline-banner" data-testid="offline-banner" role="alert">
    <span class="dot"></span>${state === 'offline' ? t('offline.banner') : t('offline.connecting')}
  </div>`;
}
