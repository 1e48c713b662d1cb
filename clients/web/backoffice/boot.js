// The store back office (supervisor and up), one screen per module of this folder: today at a
// glance, X/Z reports, sales; stock: receiving, stocktake, transfers, write-offs; members;
// shifts and day close; catalog and price labels; devices and operators. Keyboard (Alt+ the
// key shown on each tab) and touch. Every figure comes from the daemon; the page formats, it
// never adds money up.
import { html, render } from '../lib/html.js';
import { t, useLang, loadI18n } from '../lib/i18n.js';
import { LangToggle } from '../lib/components/lang.js';
import { toast } from '../lib/components/toasts.js';
import { PageStart } from '../lib/components/start.js';
import { trackDevices } from '../lib/components/devices.js';
import { Clock } from '../lib/components/clock.js';
import { gw, store } from './context.js';
import { Today } from './today.js';
import { Reports } from './reports.js';
import { Sales } from './sales.js';
import { Receive } from './receive.js';
import { Stocktake } from './stocktake.js';
import { Transfers } from './transfers.js';
import { Writeoff } from './writeoff.js';
import { Members } from './members.js';
import { Day } from './day.js';
import { Catalog } from './catalog.js';
import { Labels } from './labels.js';
import { Devices } from './devices.js';
import { Operators } from './operators.js';

let credentials = null; // {operator, pin}: in memory only, to log in again after a reconnect
const loadDevices = trackDevices(gw, store);
gw.subscribe(['devices', 'printer', 'drawer', 'alerts', 'sale', 'day']);

// [id, label, screen, Alt+key, group]
const TABS = [
  ['today', 'bo.today', Today, 'T', 'bo.group.business'], ['reports', 'bo.reports', Reports, 'R', 'bo.group.business'],
  ['sales', 'bo.sales', Sales, 'S', 'bo.group.business'],
  ['receive', 'bo.receive', Receive, 'G', 'bo.group.stock'], ['stocktake', 'bo.stocktake', Stocktake, 'K', 'bo.group.stock'],
  ['transfers', 'bo.transfers', Transfers, 'Y', 'bo.group.stock'], ['writeoff', 'bo.writeoff', Writeoff, 'W', 'bo.group.stock'],
  ['members', 'bo.members', Members, 'M', 'bo.group.members'],
  ['day', 'bo.day', Day, 'D', 'bo.group.cash'],
  ['catalog', 'bo.catalog', Catalog, 'C', 'bo.group.items'], ['labels', 'bo.labels', Labels, 'P', 'bo.group.items'],
  ['devices', 'bo.devices', Devices, 'V', 'bo.group.system'], ['operators', 'bo.operators', Operators, 'O', 'bo.group.system'],
];
// The methods whose screens say so when this daemon does not serve them.
const OPTIONAL = ['report.x', 'report.z', 'report.sales', 'sale.get', 'sale.list', 'catalog.upsert', 'catalog.list',
  'operator.list', 'stock.receive', 'stock.count', 'stock.transfer', 'stock.writeoff', 'stock.incoming', 'member.get',
  'shift.current', 'label.print'];

gw.onConnect = async () => {
  if (credentials) {
    try { store.set({ operator: await gw.call('auth.login', credentials, { raw: true }) }); } catch (e) {
      credentials = null;
      store.set({ operator: null });
    }
  }
  await loadDevices();
  store.set({ available: Object.fromEntries(OPTIONAL.map(m => [m, gw.can(m)])) });
};
gw.on('alerts.raised', d => toast(`⚠ ${d.message || d.kind}`, 'warn', 8000));

window.addEventListener('keydown', (e) => {
  if (!e.altKey || !store.state.operator) return;
  const tab = TABS.find(x => x[3] === e.key.toUpperCase());
  if (tab) { e.preventDefault(); store.set({ tab: tab[0] }); }
});

function Main() {
  useLang();
  const s = store.use();
  const [, , View] = TABS.find(x => x[0] === s.tab);
  const groups = [...new Set(TABS.map(x => x[4]))];
  return html`<div class="bo">
    <header class="topbar">
      <div class="brand">📊 ${t('app.backoffice')}</div>
      <div class="till">${gw.welcome ? `${gw.welcome.till.store} · ${gw.welcome.till.till}` : ''}</div>
      <div class="spacer"></div>
      <div class="who" data-testid="operator">👤 ${s.operator.name} <span class="muted">(${t(`role.${s.operator.role}`)})</span></div>
      <${Clock} /><${LangToggle} />
      <button class="ghost" onClick=${async () => { await gw.call('auth.logout', {}).catch(() => null); credentials = null; store.set({ operator: null }); }}>${t('key.logout')}</button>
    </header>
    <nav>${groups.map(g => html`<span class="nav-group">${t(g)}</span>${TABS.filter(x => x[4] === g).map(([id, label, , key]) => html`
      <button class=${s.tab === id ? 'on' : ''} data-testid=${`tab-${id}`} title=${`Alt+${key}`} onClick=${() => store.set({ tab: id })}>
        ${t(label)} <kbd>${key}</kbd></button>`)}`)}</nav>
    <section class="bo-main"><${View} /></section>
  </div>`;
}

function App() {
  useLang();
  const s = store.use();
  return html`<${PageStart} gw=${gw} title=${t('app.backoffice')} signedIn=${!!s.operator} login=${{
    hint: t('login.demo_hint'),
    minRole: 'supervisor',
    onLogin: async (operator, pin) => {
      const who = await gw.call('auth.login', { operator, pin });
      if (!gw.atLeast(who.effective_role || who.role, 'supervisor')) {
        await gw.call('auth.logout', {}).catch(() => null);
        throw Object.assign(new Error(t('bo.needs_supervisor')), { code: 'forbidden', text: t('bo.needs_supervisor') });
      }
      credentials = { operator, pin };
      store.set({ operator: who });
    },
  }}>${s.operator && html`<${Main} />`}</${PageStart}>`;
}

await loadI18n();
render(html`<${App} />`, document.getElementById('app'));
gw.start();
