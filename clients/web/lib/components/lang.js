// The language toggle (中文 / EN) every page shows.
import { html } from '../html.js';
import { t, useLang, setLang } from '../i18n.js';

export function LangToggle() {
  const l = useLang();
  return html`<button type="button" class="lang" data-testid="lang" onClick=${() => setLang(l === 'zh' ? 'en' : 'zh')}
    title="中文 / English">${l === 'zh' ? 'EN' : '中文'}</button>`;
}
