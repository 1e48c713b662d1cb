// Money, quantities and errors as people read them: display only; the daemon computes every
// amount (money is integer fen on the wire).
import { t, getLang } from './i18n.js';

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

/** A timestamp (Date, ISO text or epoch seconds) as local date and time, or time only. */
export function when(v, { time = false } = {}) {
  if (!v) return '';
  const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v * 1000 : v);
  if (isNaN(d)) return String(v);
  const locale = getLang() === 'zh' ? 'zh-CN' : 'en-GB';
  return time ? d.toLocaleTimeString(locale) : d.toLocaleString(locale);
}

export function grams(g) {
  return `${(g / 1000).toFixed(3)} kg`;
}

/** A readable message for a failed call. */
export function errText(e) {
  if (!e) return '';
  const key = `err.${e.code}`;
  const known = t(key);
  const detail = e.text || e.message || '';
  return known !== key ? `${known}${detail ? ': ' + detail : ''}` : (detail || String(e));
}
