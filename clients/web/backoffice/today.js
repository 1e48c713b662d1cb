// Today at a glance: sales, receipts, refunds and net (report.z) and an inline-SVG bar chart
// of today's sales by hour (report.sales {by: hour}, store time).
import { html, useEffect } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { yuan, errText } from '../lib/format.js';
import { gw, store, useLoad, Unavailable } from './context.js';

export function dashDay(day) { return day ? `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}` : undefined; }

function HourChart({ rows }) {
  // rows: [{hour: "09:00", amount, sales}] -> 24 bars, amounts in fen (height only)
  const byHour = new Array(24).fill(null).map((_, h) => ({ h, amount: 0, sales: 0 }));
  for (const r of rows) {
    const h = typeof r.hour === 'number' ? r.hour : parseInt(String(r.hour), 10);
    if (h >= 0 && h < 24) byHour[h] = { h, amount: r.amount || 0, sales: r.sales || 0 };
  }
  const max = Math.max(1, ...byHour.map(b => b.amount));
  const W = 760, H = 220, pad = 30, bw = (W - pad * 2) / 24;
  return html`<svg class="chart" data-testid="hour-chart" viewBox=${`0 0 ${W} ${H + 40}`} width="100%" role="img" aria-label=${t('bo.by_hour')}>
    <line x1=${pad} y1=${H} x2=${W - pad} y2=${H} stroke="#cfd4dd" />
    ${byHour.map(b => {
      const bh = Math.round((b.amount / max) * (H - 30));
      const x = pad + b.h * bw + 3;
      return html`<g>
        ${b.amount > 0 && html`<rect class="bar" data-testid="bar" x=${x} y=${H - bh} width=${bw - 6} height=${bh} rx="3"><title>${String(b.h).padStart(2, '0')}:00 · ${yuan(b.amount)} · ${b.sales}</title></rect>`}
        ${b.amount > 0 && html`<text x=${x + (bw - 6) / 2} y=${H - bh - 5} text-anchor="middle">${yuan(b.amount, { sign: false })}</text>`}
        ${b.h % 2 === 0 && html`<text x=${x + (bw - 6) / 2} y=${H + 16} text-anchor="middle">${String(b.h).padStart(2, '0')}</text>`}
      </g>`;
    })}
    <text x=${W / 2} y=${H + 34} text-anchor="middle">${t('bo.hour_axis')}</text>
  </svg>`;
}

export function Today() {
  useLang();
  const s = store.use();
  const [z, reloadZ] = useLoad(() => gw.call('report.z', {}), [s.available['report.z']]);
  const day = z.data && z.data.day;
  const [hours, reloadH] = useLoad(async () => {
    if (s.available['report.sales']) return gw.call('report.sales', { by: 'hour', from: dashDay(day), to: dashDay(day) });
    return null;
  }, [day, s.available['report.sales']]);
  useEffect(() => gw.on('sale.updated', d => { if (d.state === 'completed') { reloadZ(); reloadH(); } }), []);
  const zd = z.data;
  return html`<div>
    <h2>${t('bo.today')} ${day ? html`<span class="muted small">${dashDay(day)}</span>` : ''}</h2>
    ${z.error && html`<p class="error">${errText(z.error)}</p>`}
    ${zd && html`<div class="kpis" data-testid="kpis">
      <div class="card kpi"><div class="k">${t('bo.kpi_sales')}</div><div class="v" data-testid="kpi-total">${yuan(zd.sales.total)}</div></div>
      <div class="card kpi"><div class="k">${t('bo.kpi_count')}</div><div class="v">${zd.sales.count}</div></div>
      <div class="card kpi"><div class="k">${t('bo.kpi_refunds')}</div><div class="v">${yuan(zd.refunds.total)}</div></div>
      <div class="card kpi"><div class="k">${t('bo.kpi_net')}</div><div class="v">${yuan(zd.net)}</div></div>
    </div>`}
    <div class="card bo-section">
      <h3>${t('bo.by_hour')}</h3>
      ${hours.data ? html`<${HourChart} rows=${hours.data.rows} />` : hours.error ? html`<p class="error">${errText(hours.error)}</p>` : html`<${Unavailable} method="report.sales" />`}
    </div>
  </div>`;
}

