// Charts drawn as inline SVG, no library: a line/area chart for series over time (sales by
// hour, day, week, month; today against last week) and horizontal bars for rankings (stores,
// items, payment mix). Values are numbers as the daemon sent them (fen for money): `fmt`
// formats them for the axis and the tooltips, the chart never adds money up.
import { html } from '../html.js';

const PALETTE = ['#c8102e', '#2f6fdb', '#1a9e5a', '#d98b00', '#7a4bd1', '#0f8f9f'];

/** A nice step for an axis of max `max` with about `ticks` ticks. */
function step(max, ticks) {
  const raw = max / ticks;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/**
 * <LineChart labels=[...] series=[{name, values: [...], area?: bool}] fmt=fn testid="..." />
 * Each series has one value per label (null: no point). The first series with `area` is
 * filled; the others are lines. A legend names the series.
 */
export function LineChart({ labels, series, fmt = String, testid = 'line-chart', height = 240, title = '' }) {
  const W = 860, H = height, left = 74, right = 16, top = 16, bottom = 40;
  const all = series.flatMap(s => s.values.filter(v => v !== null && v !== undefined));
  const hi = Math.max(0, ...all), lo = Math.min(0, ...all);
  const st = step((hi - lo) || 1, 4);
  const yMax = Math.ceil(hi / st) * st || st, yMin = Math.floor(lo / st) * st;
  const n = labels.length;
  const x = i => left + (n <= 1 ? (W - left - right) / 2 : (i * (W - left - right)) / (n - 1));
  const y = v => top + ((yMax - v) * (H - top - bottom)) / (yMax - yMin || 1);
  const ticks = [];
  for (let v = yMin; v <= yMax + st / 2; v += st) ticks.push(v);
  const every = Math.max(1, Math.ceil(n / 12));
  return html`<div class="chart-box">
    <svg class="chart" data-testid=${testid} viewBox=${`0 0 ${W} ${H}`} width="100%" role="img" aria-label=${title}>
      ${ticks.map(v => html`<g><line class="grid" x1=${left} x2=${W - right} y1=${y(v)} y2=${y(v)} />
        <text x=${left - 8} y=${y(v) + 4} text-anchor="end">${fmt(v)}</text></g>`)}
      ${labels.map((l, i) => (i % every === 0 || i === n - 1) && html`<text x=${x(i)} y=${H - bottom + 18} text-anchor="middle">${l}</text>`)}
      ${series.map((s, k) => {
        const color = s.color || PALETTE[k % PALETTE.length];
        const pts = s.values.map((v, i) => (v === null || v === undefined ? null : [x(i), y(v)])).filter(Boolean);
        if (!pts.length) return null;
        const line = pts.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
        const base = y(Math.max(yMin, 0));
        const area = `${line} L${pts[pts.length - 1][0].toFixed(1)},${base} L${pts[0][0].toFixed(1)},${base} Z`;
        return html`<g class="series" data-testid="series" data-name=${s.name}>
          ${s.area && html`<path class="area" d=${area} fill=${color} fill-opacity="0.14" />`}
          <path class="line" d=${line} fill="none" stroke=${color} stroke-width=${s.area ? 2.5 : 1.8} stroke-dasharray=${s.dashed ? '6 4' : ''} />
          ${s.values.map((v, i) => (v === null || v === undefined ? null : html`<circle data-testid="point" cx=${x(i)} cy=${y(v)} r=${n > 40 ? 1.5 : 3} fill=${color}><title>${s.name} · ${labels[i]} · ${fmt(v)}</title></circle>`))}
        </g>`;
      })}
    </svg>
    ${series.length > 1 && html`<div class="legend">${series.map((s, k) => html`<span><i style=${`background:${s.color || PALETTE[k % PALETTE.length]}`}></i>${s.name}</span>`)}</div>`}
  </div>`;
}

/** <BarChart rows=[{label, value}] fmt=fn onPick=fn /> — horizontal bars, largest first. */
export function BarChart({ rows, fmt = String, testid = 'bar-chart', onPick = null, max = 15 }) {
  const shown = rows.slice(0, max);
  const W = 860, row = 26, left = 150, right = 110;
  const H = shown.length * row + 8;
  const hi = Math.max(1, ...shown.map(r => Math.abs(r.value)));
  return html`<svg class="chart bars" data-testid=${testid} viewBox=${`0 0 ${W} ${H}`} width="100%" role="img">
    ${shown.map((r, i) => {
      const w = (Math.abs(r.value) * (W - left - right)) / hi;
      return html`<g class=${onPick ? 'pick' : ''} onClick=${onPick ? () => onPick(r) : null}>
        <text x=${left - 8} y=${i * row + 18} text-anchor="end">${r.label}</text>
        <rect class=${r.value < 0 ? 'bar neg' : 'bar'} data-testid="bar" x=${left} y=${i * row + 5} width=${Math.max(1, w)} height=${row - 9} rx="3"><title>${r.label} · ${fmt(r.value)}</title></rect>
        <text x=${left + w + 6} y=${i * row + 18}>${fmt(r.value)}</text>
      </g>`;
    })}
  </svg>`;
}
