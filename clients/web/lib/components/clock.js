// The clock in the status bar (store time as the browser shows it).
import { html, useState, useEffect } from '../html.js';
import { getLang } from '../i18n.js';

export function Clock() {
  const [now, set] = useState(new Date());
  useEffect(() => { const i = setInterval(() => set(new Date()), 15000); return () => clearInterval(i); }, []);
  return html`<span class="clock">${now.toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' })}</span>`;
}
