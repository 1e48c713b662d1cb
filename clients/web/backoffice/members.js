// Members (会员): find by phone, card or QR code; register; top up stored value (the bonus
// rule is the daemon's); the member's purchases, points and balance movements and coupons
// (member.history); issue a coupon to the member.
import { html, useState, useEffect } from '../lib/html.js';
import { t, useLang } from '../lib/i18n.js';
import { yuan, parseYuan, errText, when } from '../lib/format.js';
import { toast } from '../lib/components/toasts.js';
import { store, call, Unavailable } from './context.js';

function Register({ onDone }) {
  useLang();
  const [f, setF] = useState({ phone: '', name: '', birthday: '', card: '' });
  const set = k => e => setF({ ...f, [k]: e.target.value });
  async function submit(e) {
    e.preventDefault();
    const params = { phone: f.phone.trim(), name: f.name.trim() };
    if (f.birthday.trim()) params.birthday = f.birthday.trim();
    if (f.card.trim()) params.card = f.card.trim();
    try {
      const m = await call('member.register', params);
      if (m) { toast(t('mem.registered', { name: m.name }), 'ok'); onDone(m.phone); }
    } catch (x) { toast(errText(x), 'error', 6000); }
  }
  return html`<form class="card bo-section" data-testid="member-register" onSubmit=${submit}>
    <h3>${t('mem.register')}</h3>
    <div class="form-grid">
      <label>${t('mem.phone')}<input data-testid="reg-phone" inputmode="tel" value=${f.phone} onInput=${set('phone')} /></label>
      <label>${t('mem.name')}<input data-testid="reg-name" value=${f.name} onInput=${set('name')} /></label>
      <label>${t('mem.birthday')}<input placeholder="1990-05-17" value=${f.birthday} onInput=${set('birthday')} /></label>
      <label>${t('mem.card')}<input value=${f.card} onInput=${set('card')} /></label>
    </div>
    <div class="row"><div class="spacer"></div><button class="primary" type="submit" data-testid="reg-ok">${t('mem.register')}</button></div>
  </form>`;
}

function Topup({ code, onDone }) {
  useLang();
  const [amount, setAmount] = useState('');
  const [method, setMethod] = useState('cash');
  async function submit(e) {
    e.preventDefault();
    const fen = parseYuan(amount);
    if (fen === null || fen <= 0) { toast(t('msg.bad_amount'), 'warn'); return; }
    try {
      const res = await call('member.topup', { code, amount: fen, method });
      if (res) {
        toast(t('mem.topped_up', { amount: yuan(res.amount), bonus: yuan(res.bonus), balance: yuan(res.balance) }), 'ok', 8000);
        setAmount('');
        onDone();
      }
    } catch (x) { toast(errText(x), 'error', 6000); }
  }
  return html`<form class="row" data-testid="member-topup" onSubmit=${submit}>
    <b>${t('mem.topup')}</b>
    <input data-testid="topup-amount" inputmode="decimal" placeholder="500.00" value=${amount} onInput=${e => setAmount(e.target.value)} style="max-width:160px" />
    <select value=${method} onChange=${e => setMethod(e.target.value)} style="max-width:160px">
      ${['cash', 'card', 'alipay', 'wechat'].map(m => html`<option value=${m}>${t(`tender.${m}`)}</option>`)}
    </select>
    <button class="primary" type="submit" data-testid="topup-ok">${t('mem.topup')}</button>
  </form>`;
}

function IssueCoupon({ code, onDone }) {
  useLang();
  const [amount, setAmount] = useState('');
  const [min, setMin] = useState('');
  const [days, setDays] = useState('30');
  async function submit(e) {
    e.preventDefault();
    const fen = parseYuan(amount);
    const minFen = min.trim() ? parseYuan(min) : 0;
    const d = parseInt(days, 10);
    if (fen === null || fen <= 0 || minFen === null || !(d > 0)) { toast(t('msg.bad_amount'), 'warn'); return; }
    try {
      const res = await call('coupon.issue', { amount: fen, min_spend: minFen, valid_days: d, member: code });
      if (res) { toast(t('mem.coupon_issued', { code: res.codes[0] }), 'ok', 8000); setAmount(''); onDone(); }
    } catch (x) { toast(errText(x), 'error', 6000); }
  }
  return html`<form class="row" data-testid="member-coupon" onSubmit=${submit}>
    <b>${t('mem.issue_coupon')}</b>
    <input placeholder=${t('mem.coupon_amount')} inputmode="decimal" value=${amount} onInput=${e => setAmount(e.target.value)} style="max-width:140px" />
    <input placeholder=${t('mem.coupon_min')} inputmode="decimal" value=${min} onInput=${e => setMin(e.target.value)} style="max-width:140px" />
    <input placeholder=${t('mem.coupon_days')} inputmode="numeric" value=${days} onInput=${e => setDays(e.target.value)} style="max-width:100px" />
    <button type="submit">${t('mem.issue_coupon')}</button>
  </form>`;
}

function Moves({ title, rows, money, testid }) {
  useLang();
  return html`<div class="bo-sub"><h4>${title}</h4>
    ${rows.length ? html`<table class="data" data-testid=${testid}><thead><tr><th>${t('bo.time')}</th><th>${t('mem.reason')}</th>
      <th class="r">${t('mem.delta')}</th><th class="r">${t('mem.after')}</th><th>${t('doc.ref')}</th></tr></thead>
      <tbody>${rows.map(m => html`<tr><td>${when(m.at)}</td><td>${t(`mem.why.${m.reason}`) !== `mem.why.${m.reason}` ? t(`mem.why.${m.reason}`) : m.reason}</td>
        <td class="r">${money ? yuan(m.delta) : m.delta}</td><td class="r">${money ? yuan(m.after) : m.after}</td><td class="small">${m.ref || ''}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">${t('common.none')}</p>`}</div>`;
}

function MemberView({ code }) {
  useLang();
  const [h, setH] = useState(null);
  const [err, setErr] = useState(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion(v => v + 1);
  useEffect(() => {
    call('member.history', { code, limit: 50 }).then(r => { setH(r); setErr(null); }).catch(x => { setH(null); setErr(x); });
  }, [code, version]);
  if (err) return html`<p class="error" data-testid="member-error">${errText(err)}</p>`;
  if (!h) return html`<p class="muted">…</p>`;
  const m = h.member;
  return html`<div>
    <div class="card bo-section member-card" data-testid="member-found">
      <div class="member-head"><span class="member" data-testid="mem-name">⭐ ${m.name}</span><span class="tag">${m.tier_name}</span>
        <span class="muted">${m.phone}</span>${!m.active && html`<span class="tag bad">${t('mem.inactive')}</span>`}</div>
      <div class="kpis">
        <div class="card kpi"><div class="k">${t('member.balance')}</div><div class="v" data-testid="mem-balance">${yuan(m.balance)}</div></div>
        <div class="card kpi"><div class="k">${t('member.points_label')}</div><div class="v" data-testid="mem-points">${m.points}</div></div>
        <div class="card kpi"><div class="k">${t('mem.points_value')}</div><div class="v">${yuan(m.points_value)}</div></div>
      </div>
      <${Topup} code=${code} onDone=${reload} />
      <${IssueCoupon} code=${code} onDone=${reload} />
    </div>
    <div class="card bo-section">
      <div class="bo-sub"><h4>${t('mem.purchases')}</h4>
        ${h.purchases.length ? html`<table class="data" data-testid="mem-purchases"><thead><tr><th>${t('bo.time')}</th><th>${t('bo.receipt')}</th><th class="r">${t('sale.total')}</th><th class="r">${t('member.points_label')}</th></tr></thead>
          <tbody>${h.purchases.map(p => html`<tr class=${p.kind === 'refund' ? 'bad' : ''}><td>${when(p.at)}</td><td>${p.receipt_no || ''}</td><td class="r">${yuan(p.amount)}</td><td class="r">${p.points}</td></tr>`)}</tbody></table>`
          : html`<p class="muted">${t('common.none')}</p>`}</div>
      <${Moves} title=${t('mem.balance_moves')} rows=${h.balance} money=${true} testid="mem-balance-moves" />
      <${Moves} title=${t('mem.points_moves')} rows=${h.points} money=${false} testid="mem-points-moves" />
      <div class="bo-sub"><h4>${t('mem.coupons')}</h4>
        ${h.coupons.length ? html`<table class="data" data-testid="mem-coupons"><thead><tr><th>${t('mem.coupon_code')}</th><th class="r">${t('mem.coupon_amount')}</th><th class="r">${t('mem.coupon_min')}</th><th>${t('mem.valid_to')}</th><th>${t('mem.used')}</th></tr></thead>
          <tbody>${h.coupons.map(c => html`<tr><td>${c.code}</td><td class="r">${yuan(c.amount)}</td><td class="r">${yuan(c.min_spend)}</td><td>${when(c.valid_to)}</td><td>${c.used ? '✓' : ''}</td></tr>`)}</tbody></table>`
          : html`<p class="muted">${t('common.none')}</p>`}</div>
    </div>
  </div>`;
}

export function Members() {
  useLang();
  const s = store.use();
  const [q, setQ] = useState('');
  const [code, setCode] = useState(null);
  const [registering, setRegistering] = useState(false);
  if (s.available['member.get'] === false) return html`<div><h2>${t('bo.members')}</h2><${Unavailable} method="member.get" /></div>`;
  function find(e) {
    e.preventDefault();
    if (q.trim()) { setCode(q.trim()); setRegistering(false); }
  }
  return html`<div>
    <h2>${t('bo.members')}</h2>
    <form class="card bo-section row" onSubmit=${find}>
      <input data-testid="member-query" placeholder=${t('mem.find_placeholder')} value=${q} onInput=${e => setQ(e.target.value)} />
      <button class="primary" type="submit">${t('common.search')}</button>
      <button type="button" data-testid="member-new" onClick=${() => { setRegistering(true); setCode(null); }}>＋ ${t('mem.register')}</button>
    </form>
    ${registering && html`<${Register} onDone=${phone => { setRegistering(false); setQ(phone); setCode(phone); }} />`}
    ${code && html`<${MemberView} key=${code} code=${code} />`}
  </div>`;
}
