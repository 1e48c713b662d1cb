// Report maps and tables as the daemon sends them: scalars as a key/value table, lists of maps
// as tables, money keys as ¥ (the page formats, it never adds money up).
import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { yuan } from '../lib/format.js';

export const fl = k => (t(`field.${k}`) !== `field.${k}` ? t(`field.${k}`) : k);

const MONEY = new Set(['total', 'collected', 'subtotal', 'discounts', 'discount', 'rounding', 'net', 'sales',
  'refunds', 'amount', 'float', 'expected', 'paid_in', 'paid_out', 'tax', 'gross', 'lines_amount', 'sales_total',
  'refunds_total', 'counted', 'variance', 'avg_ticket', 'cost', 'profit', 'value', 'unit_price', 'paid', 'change', 'due', 'base',
  'price', 'member_price']);
const COUNT_CONTEXT = new Set(['cashiers']); // there `sales`/`refunds` are counts

function cell(key, v, ctx) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  if (v instanceof Date) return v.toLocaleString();
  if (typeof v === 'number') {
    if (key.endsWith('_bp')) return `${(v / 100).toFixed(2)}%`;
    if (key === 'count' || key.endsWith('_count') || key === 'closes' || key === 'lines') return String(v);
    if (COUNT_CONTEXT.has(ctx) && (key === 'sales' || key === 'refunds' || key === 'voids')) return String(v);
    if (MONEY.has(key) || key.endsWith('_fen')) return yuan(v);
    return String(v);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function TableOf({ rows, columns, ctx }) {
  if (!rows || !rows.length) return html`<p class="muted">${t('common.none')}</p>`;
  const keys = columns ? columns.map(c => c.key) : [...new Set(rows.flatMap(r => Object.keys(r)))];
  const title = k => (t(`field.${k}`) !== `field.${k}` ? t(`field.${k}`) : (columns && columns.find(c => c.key === k)?.title) || k);
  const type = k => columns && columns.find(c => c.key === k)?.type;
  const fmt = (k, v) => {
    const ty = type(k);
    if (ty === 'money') return yuan(v);
    if (ty === 'bp') return v === null || v === undefined ? '—' : `${(v / 100).toFixed(1)}%`;
    if (ty === 'int' || ty === 'text') return v === null || v === undefined ? '—' : String(v);
    return cell(k, v, ctx);
  };
  return html`<table class="data"><thead><tr>${keys.map(k => html`<th class=${typeof rows[0][k] === 'number' ? 'r' : ''}>${title(k)}</th>`)}</tr></thead>
    <tbody>${rows.map(r => html`<tr>${keys.map(k => html`<td class=${typeof r[k] === 'number' ? 'r' : ''}>${fmt(k, r[k])}</td>`)}</tr>`)}</tbody></table>`;
}

export function MapView({ data, ctx = '' }) {
  const scalars = Object.entries(data).filter(([, v]) => v === null || typeof v !== 'object' || v instanceof Date);
  const nested = Object.entries(data).filter(([, v]) => v !== null && typeof v === 'object' && !(v instanceof Date));
  return html`<div>
    ${scalars.length > 0 && html`<table class="data kvtable"><tbody>${scalars.map(([k, v]) => html`<tr><th>${fl(k)}</th><td class=${typeof v === 'number' ? 'r' : ''}>${cell(k, v, ctx)}</td></tr>`)}</tbody></table>`}
    ${nested.map(([k, v]) => html`<div class="bo-sub"><h4>${fl(k)}</h4>
      ${Array.isArray(v) ? (v.length && typeof v[0] === 'object' ? html`<${TableOf} rows=${v} ctx=${k} />` : html`<p>${v.join(', ') || t('common.none')}</p>`)
        : html`<${MapView} data=${v} ctx=${k} />`}</div>`)}
  </div>`;
}

