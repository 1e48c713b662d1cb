// The operator login screen (id and PIN, with an on-screen keypad).
import { html, useState, useEffect, useRef } from '../html.js';
import { t, useLang } from '../i18n.js';
import { errText } from '../format.js';
import { LangToggle } from './lang.js';

export function LoginScreen({ title, onLogin, hint, minRole }) {
  useLang();
  const [op, setOp] = useState('');
  const [pin, setPin] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const opRef = useRef();
  const pinRef = useRef();
  useEffect(() => { opRef.current && opRef.current.focus(); }, []);
  async function submit(e) {
    e && e.preventDefault();
    if (!op) { opRef.current.focus(); return; }
    if (!pin) { pinRef.current.focus(); return; }
    setBusy(true);
    setError(null);
    try {
      await onLogin(op, pin);
    } catch (err) {
      setError(errText(err));
      setPin('');
      pinRef.current && pinRef.current.focus();
    } finally {
      setBusy(false);
    }
  }
  function key(d) {
    if (document.activeElement === opRef.current) setOp(v => d === '⌫' ? v.slice(0, -1) : v + d);
    else setPin(v => d === '⌫' ? v.slice(0, -1) : v + d);
  }
  return html`<div class="center-screen login" data-testid="login">
    <form class="card login-card" onSubmit=${submit}>
      <div class="login-head"><h1>${title}</h1><${LangToggle} /></div>
      <label>${t('login.operator')}
        <input ref=${opRef} data-testid="login-operator" inputmode="numeric" autocomplete="username"
          value=${op} onInput=${e => setOp(e.target.value)}
          onKeyDown=${e => { if (e.key === 'Enter') { e.preventDefault(); pinRef.current.focus(); } }} />
      </label>
      <label>${t('login.pin')}
        <input ref=${pinRef} data-testid="login-pin" type="password" inputmode="numeric"
          autocomplete="current-password" value=${pin} onInput=${e => setPin(e.target.value)} />
      </label>
      <div class="keypad small">
        ${['1', '2', '3', '4', '5', '6', '7', '8', '9', '⌫', '0'].map(d => html`
          <button type="button" tabindex="-1" onMouseDown=${e => e.preventDefault()} onClick=${() => key(d)}>${d}</button>`)}
        <button type="submit" class="primary" disabled=${busy}>${t('login.submit')}</button>
      </div>
      ${error && html`<p class="error" data-testid="login-error">${error}</p>`}
      ${hint && html`<p class="muted small">${hint}</p>`}
      ${minRole && html`<p class="muted small">${t('login.min_role', { role: t(`role.${minRole}`) })}</p>`}
    </form>
  </div>`;
}
