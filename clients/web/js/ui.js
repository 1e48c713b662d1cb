// Shared view helpers of the web clients: preact + htm, translations, money display, toasts,
// a beep, and the screens every page has (offline banner, pairing, login, approval dialog).
import { h, render } from 'preact';
import { useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);
export { h, render, useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback };

// -- translations ---------------------------------------------------------------------------
const LANG_KEY = 'gatewayd.lang';
const dicts = {};
let lang = localStorage.getItem(LANG_KEY) || 'zh';
const langListeners = new Set();

export async function loadI18n() {
  const base = new URL('../i18n/', import.meta.url);
  const [zh, en] = await Promise.all(
    ['zh', 'en'].map(l => fetch(new URL(`${l}.json`, base)).then(r => r.json())));
  dicts.zh = zh;
  dicts.en = en;
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export function getLang() { return lang; }

export function setLang(l) {
  lang = l;
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  for (const fn of langListeners) fn(l);
}

/** t('key', {n: 3}) -> the text in the current language, `{n}` replaced. */
export function t(key, vars) {
  let s = (dicts[lang] && dicts[lang][key]) ?? (dicts.en && dicts.en[key]) ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

/** Re-render a component when the language changes. */
export function useLang() {
  const [l, set] = useState(lang);
  useEffect(() => { langListeners.add(set); return () => langListeners.delete(set); }, []);
  return l;
}

export function LangToggle() {
  const l = useLang();
  return html`<button type="button" class="lang" data-testid="lang" onClick=${() => setLang(l === 'zh' ? 'en' : 'zh')}
    title="中文 / English">${l === 'zh' ? 'EN' : '中文'}</button>`;
}

// -- money and quantities: display only; the daemon computes every amount -----------------
export function yuan(fen, { sign = true } = {}) {
  if (fen === null || fen === undefined) return '';
  const neg = fen < 0;
  const a = Math.abs(fen);
  const s = `${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
  return `${neg ? '-' : ''}${sign ? '¥' : ''}${s}`;
}

/** "12.34" or "12" -> 1234 fen (exact, no float arithmetic); null when not a money amount. */
export function parseYuan(text) {
  const m = String(text).trim().match(/^(\d{1,9})(?:\.(\d{0,2}))?$/);
  if (!m) return null;
  return parseInt(m[1], 10) * 100 + parseInt((m[2] || '').padEnd(2, '0') || '0', 10);
}

export function qtyText(line) {
  if (line.unit === 'kg') return `${(line.qty / 1000).toFixed(3)} kg`;
  return line.qty % 1000 === 0 ? `${line.qty / 1000}` : (line.qty / 1000).toFixed(3);
}

export function grams(g) {
  return `${(g / 1000).toFixed(3)} kg`;
}

// -- tiny store: state shared by a page's components ----------------------------------------
export class Store {
  constructor(state) { this.state = state; this.subs = new Set(); }
  set(patch) {
    this.state = { ...this.state, ...(typeof patch === 'function' ? patch(this.state) : patch) };
    for (const fn of this.subs) fn(this.state);
  }
  use() {
    const [s, set] = useState(this.state);
    useEffect(() => { this.subs.add(set); set(this.state); return () => this.subs.delete(set); }, []);
    return s;
  }
}

// -- toasts and sound -----------------------------------------------------------------------
export const toasts = new Store({ list: [] });
let toastId = 0;

export function toast(text, kind = 'info', ms = 4000) {
  const id = ++toastId;
  toasts.set(s => ({ list: [...s.list, { id, text, kind }].slice(-5) }));
  setTimeout(() => toasts.set(s => ({ list: s.list.filter(x => x.id !== id) })), ms);
}

export function Toasts() {
  const { list } = toasts.use();
  return html`<div class="toasts" aria-live="polite">
    ${list.map(x => html`<div key=${x.id} class=${`toast toast-${x.kind}`} data-testid="toast">${x.text}</div>`)}
  </div>`;
}

let audio = null;
export function beep(freq = 880, ms = 180, times = 1) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    for (let i = 0; i < times; i++) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.type = 'square';
      o.frequency.value = freq;
      g.gain.value = 0.08;
      o.connect(g).connect(audio.destination);
      const at = audio.currentTime + i * (ms / 1000 + 0.08);
      o.start(at);
      o.stop(at + ms / 1000);
    }
    window.__beeps = (window.__beeps || 0) + 1; // for the browser tests
  } catch (e) { /* no audio device: the toast still shows */ }
}

/** A readable message for a failed call. */
export function errText(e) {
  if (!e) return '';
  const key = `err.${e.code}`;
  const known = t(key);
  const detail = e.text || e.message || '';
  return known !== key ? `${known}${detail ? ': ' + detail : ''}` : (detail || String(e));
}

// -- connection banner ------------------------------------------------------------------------
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

// -- pairing ----------------------------------------------------------------------------------
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

// -- operator login -----------------------------------------------------------------------------
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

// -- manager approval ---------------------------------------------------------------------------
/** Run `fn(params)`; on `approval_required` ask for a manager's id and PIN and retry with
 *  `approve`. Resolves with the result, or null when the cashier cancelled. */
export const approvals = new Store({ open: null });

export async function withApproval(callFn, params = {}) {
  try {
    return await callFn(params);
  } catch (e) {
    if (e.code !== 'approval_required') throw e;
    let lastError = null;
    for (;;) {
      const answer = await new Promise(resolve => approvals.set({
        open: { action: e.details.action, role: e.details.role, error: lastError, resolve },
      }));
      if (!answer) { approvals.set({ open: null }); return null; }
      try {
        const res = await callFn({ ...params, approve: answer });
        approvals.set({ open: null });
        return res;
      } catch (e2) {
        if (e2.code === 'approval_required' || e2.code === 'unauthenticated' || e2.code === 'forbidden') {
          lastError = errText(e2);
          continue;
        }
        approvals.set({ open: null });
        throw e2;
      }
    }
  }
}

export function ApprovalDialog() {
  useLang();
  const { open } = approvals.use();
  const [op, setOp] = useState('');
  const [pin, setPin] = useState('');
  const opRef = useRef();
  const pinRef = useRef();
  useLayoutEffect(() => {
    if (open) { setPin(''); (op ? pinRef : opRef).current?.focus(); }
  }, [open]);
  if (!open) return null;
  function submit(e) {
    e.preventDefault();
    if (!op) { opRef.current.focus(); return; }
    if (!pin) { pinRef.current.focus(); return; }
    open.resolve({ operator: op, pin });
  }
  function cancel() { open.resolve(null); }
  return html`<div class="modal-back" onKeyDown=${e => { if (e.key === 'Escape') { e.stopPropagation(); cancel(); } }}>
    <form class="modal approval" data-testid="approval" onSubmit=${submit}>
      <h2>🔐 ${t('approve.title')}</h2>
      <p>${t('approve.needs', { action: t(`action.${open.action}`) !== `action.${open.action}` ? t(`action.${open.action}`) : open.action, role: t(`role.${open.role}`) })}</p>
      <label>${t('approve.operator')}
        <input ref=${opRef} data-testid="approve-operator" inputmode="numeric" value=${op}
          onInput=${e => setOp(e.target.value)}
          onKeyDown=${e => { if (e.key === 'Enter') { e.preventDefault(); pinRef.current.focus(); } }} />
      </label>
      <label>${t('approve.pin')}
        <input ref=${pinRef} data-testid="approve-pin" type="password" inputmode="numeric" value=${pin}
          onInput=${e => setPin(e.target.value)} />
      </label>
      ${open.error && html`<p class="error" data-testid="approve-error">${open.error}</p>`}
      <div class="modal-actions">
        <button type="button" onClick=${cancel}><kbd>Esc</kbd> ${t('common.cancel')}</button>
        <button type="submit" class="primary" data-testid="approve-ok"><kbd>Enter</kbd> ${t('approve.ok')}</button>
      </div>
    </form>
  </div>`;
}

// -- devices status -------------------------------------------------------------------------
/** Keeps `devices` (id -> device) current from devices.list and the device events. */
export function trackDevices(gw, store) {
  const update = (id, patch) => store.set(s => {
    const cur = s.devices[id] || { id, status: {} };
    const next = { ...cur, ...patch, status: { ...cur.status, ...(patch.status || {}) } };
    return { devices: { ...s.devices, [id]: next } };
  });
  gw.on('devices.status', d => update(d.id, d));
  gw.on('printer.status', d => { const { device, ...rest } = d; update(device, { status: rest }); });
  gw.on('drawer.status', d => update(d.device, { status: { open: d.open } }));
  gw.on('scale.reading', d => {
    const { device, ...rest } = d;
    update(device, { status: rest });
  });
  return async () => {
    const res = await gw.call('devices.list', {}, { raw: true });
    const devices = {};
    for (const d of res.devices) devices[d.id] = d;
    store.set({ devices });
  };
}

export function deviceSummary(d) {
  if (!d) return { cls: 'off', text: t('dev.none') };
  if (d.state !== 'online') return { cls: 'bad', text: t(`dev.state.${d.state}`) };
  const s = d.status || {};
  if (d.kind === 'printer') {
    if (s.cover_open) return { cls: 'bad', text: t('dev.printer.cover_open') };
    if (s.paper === 'empty') return { cls: 'bad', text: t('dev.printer.paper_empty') };
    if (s.paper === 'near_end') return { cls: 'warn', text: t('dev.printer.paper_near_end') };
    return { cls: 'ok', text: t('dev.printer.ok') };
  }
  if (d.kind === 'drawer') return s.open ? { cls: 'warn', text: t('dev.drawer.open') } : { cls: 'ok', text: t('dev.drawer.closed') };
  if (d.kind === 'scale') {
    if (s.over) return { cls: 'bad', text: t('dev.scale.over') };
    if (s.grams !== undefined) return { cls: s.stable ? 'ok' : 'warn', text: `${grams(s.grams)}${s.stable ? '' : ' ~'}` };
    return { cls: 'ok', text: t('dev.state.online') };
  }
  return { cls: 'ok', text: t('dev.state.online') };
}

export function Clock() {
  const [now, set] = useState(new Date());
  useEffect(() => { const i = setInterval(() => set(new Date()), 15000); return () => clearInterval(i); }, []);
  return html`<span class="clock">${now.toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' })}</span>`;
}
