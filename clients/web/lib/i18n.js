// Translations: every text of the pages in i18n/zh.json and en.json (Chinese by default; the
// choice is remembered). t('key', {n: 3}) gives the text in the current language.
import { useState, useEffect } from './html.js';

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
