// Shifts and the business day (班次与日结): the till's shift (open with a float, paid in /
// paid out, the blind close with its expected cash and variance afterwards), the day's state,
// day close (日结, with its Z report) and reopen (反结账, a manager's, asked inline), and the Z
// report of any day.
import { html, useState, useEffect } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { yuan, parseYuan, errText, when } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';
import { gw, store, call, useLoad, Unavailable } from './context.js';
import { MapView } from './tables.js';
import { dashDay } from './today.js';

function Money({ label, testid, onSubmit, button, signed }) {
  const [v, setV] = useState('');
  const [reason, setReason] = useState('');
  function submit(e) {
    e.preventDefault();
    const neg = signed && v.trim().startsWith('-');
    const fen = parseYuan(neg ? v.trim().slice(1) : v);
    if (fen === null) { toast(t('msg.bad_amount'), 'warn'); return; }
    onSubmit(neg ? -fen : fen, reason.trim()).then(ok => { if (ok) { setV(''); setReason(''); } });
  }
  return html`<form class="row" data-testid=${testid} onSubmit=${submit}>
    <b>${label}</b>
    <input inputmode="decimal" placeholder=${signed ? '-30.00' : '0.00'} value=${v} onInput=${e => setV(e.target.value)} style="max-width:160px" />
    ${signed && html`<input placeholder=${t('day.reason')} value=${reason} onInput=${e => setReason(e.target.value)} style="max-width:240px" />`}
    <button class="primary" type="submit">${button}</button>
  </form>`;
}

export function Day() {
  useLang();
  const s = store.use();
  const [cur, reload] = useLoad(() => (s.available['shift.current'] ? gw.call('shift.current', {}) : null), [s.available['shift.current']]);
  const [closed, setClosed] = useState(null);   // the shift just closed (expected, variance)
  const [zDay, setZDay] = useState('');
  const [z, setZ] = useState(null);
  const [zErr, setZErr] = useState(null);
  useEffect(() => gw.on('day', () => reload()), []);
  if (s.available['shift.current'] === false) return html`<div><h2>${t('bo.day')}</h2><${Unavailable} method="shift.current" /></div>`;
  const shift = cur.data && cur.data.shift;
  const day = cur.data && cur.data.day;

  async function run(method, params, ok) {
    try {
      const res = await call(method, params);
      if (res) { ok && ok(res); await reload(); return true; }
    } catch (x) { toast(errText(x), 'error', 8000); }
    return false;
  }
  async function showZ(e) {
    e && e.preventDefault();
    setZErr(null);
    try { setZ(await call('report.z', zDay ? { day: zDay.replace(/-/g, '') } : {})); } catch (x) { setZ(null); setZErr(x); }
  }
  return html`<div>
    <h2>${t('bo.day')}</h2>
    ${cur.error && html`<p class="error">${errText(cur.error)}</p>`}
    <div class="card bo-section" data-testid="shift-panel">
      <h3>${t('day.shift')}</h3>
      ${shift ? html`<p data-testid="shift-state">${t('day.shift_open', { operator: shift.operator, at: when(shift.opened_at), float: yuan(shift.float) })}</p>
          <${Money} label=${t('day.cash_move')} testid="shift-cash" button=${t('day.cash_move_ok')} signed=${true}
            onSubmit=${(amount, reason) => run('shift.cash', { amount, reason: reason || t('day.cash_move') }, () => toast(t('day.cash_moved'), 'ok'))} />
          <${Money} label=${t('day.close_shift')} testid="shift-close" button=${t('day.close_shift_ok')}
            onSubmit=${counted => run('shift.close', { counted }, res => setClosed(res))} />`
        : html`<p class="muted" data-testid="shift-state">${t('shift.none')}</p>
          <${Money} label=${t('day.open_shift')} testid="shift-open" button=${t('day.open_shift_ok')}
            onSubmit=${float => run('shift.open', { float }, () => { setClosed(null); toast(t('shift.opened'), 'ok'); })} />`}
      ${closed && html`<div class="kpis" data-testid="shift-closed">
        <div class="card kpi"><div class="k">${t('day.counted')}</div><div class="v">${yuan(closed.counted)}</div></div>
        <div class="card kpi"><div class="k">${t('day.expected')}</div><div class="v">${yuan(closed.expected)}</div></div>
        <div class="card kpi"><div class="k">${t('day.variance')}</div><div class=${`v ${closed.variance ? 'error' : 'ok'}`}>${yuan(closed.variance)}</div></div>
      </div>`}
    </div>
    ${day && html`<div class="card bo-section" data-testid="day-panel">
      <h3>${t('day.business_day')} ${dashDay(day.day)}</h3>
      <p data-testid="day-state">${day.state === 'closed' ? t('day.closed', { at: when(day.closed_at), by: day.closed_by || '' }) : t('day.open', { n: day.closes })}</p>
      <div class="row">
        ${day.state === 'open'
          ? html`<button class="primary big" data-testid="day-close" onClick=${() => run('day.close', {}, res => { setZ(res); toast(t('day.closed_ok'), 'ok'); })}>${t('day.close')}</button>`
          : html`<button class="big" data-testid="day-reopen" onClick=${() => run('day.reopen', {}, () => toast(t('day.reopened'), 'ok'))}>${t('day.reopen')}</button>`}
      </div>
    </div>`}
    <form class="card bo-section row" onSubmit=${showZ}>
      <h3>${t('bo.report_z')}</h3>
      <input type="date" value=${zDay} onInput=${e => setZDay(e.target.value)} style="max-width:200px" />
      <button type="submit" data-testid="z-show">${t('day.show_z')}</button>
    </form>
    ${zErr && html`<p class="error">${errText(zErr)}</p>`}
    ${z && html`<div class="card bo-section" data-testid="z-report"><${MapView} data=${z} /></div>`}
  </div>`;
}
