// Device status: kept current from devices.list and the device events, summed up per device.
import { t } from '../i18n.js';
import { grams } from '../format.js';

/** Keeps `devices` (id -> device) current from devices.list and the device events. */
export function trackDevices(gw, store) {
  const update = (id, patch) => store.set(s => {
    const cur = s.devices[id] || { id, status: {} };
    const next = { ...cur, ...patch, status: { ...cur.status, ...(patch.status || {}) } };
    return { devices: { ...s.devices, [id]: next } };
  });
  gw.on('devices.status', d => update(d.id, d));
  gw.on('printer.status', d => { const { device, ...rest } = d; update(device, { status: rest }); });
  gw.on('drawer.status', d => update(d.device, { status: { open: d.open } }));
  gw.on('scale.reading', d => {
    const { device, ...rest } = d;
    update(device, { status: rest });
  });
  return async () => {
    const res = await gw.call('devices.list', {}, { raw: true });
    const devices = {};
    for (const d of res.devices) devices[d.id] = d;
    store.set({ devices });
  };
}

export function deviceSummary(d) {
  if (!d) return { cls: 'off', text: t('dev.none') };
  if (d.state !== 'online') return { cls: 'bad', text: t(`dev.state.${d.state}`) };
  const s = d.status || {};
  if (d.kind === 'printer') {
    if (s.cover_open) return { cls: 'bad', text: t('dev.printer.cover_open') };
    if (s.paper === 'empty') return { cls: 'bad', text: t('dev.printer.paper_empty') };
    if (s.paper === 'near_end') return { cls: 'warn', text: t('dev.printer.paper_near_end') };
    return { cls: 'ok', text: t('dev.printer.ok') };
  }
  if (d.kind === 'drawer') return s.open ? { cls: 'warn', text: t('dev.drawer.open') } : { cls: 'ok', text: t('dev.drawer.closed') };
  if (d.kind === 'scale') {
    if (s.over) return { cls: 'bad', text: t('dev.scale.over') };
    if (s.grams !== undefined) return { cls: s.stable ? 'ok' : 'warn', text: `${grams(s.grams)}${s.stable ? '' : ' ~'}` };
    return { cls: 'ok', text: t('dev.state.online') };
  }
  return { cls: 'ok', text: t('dev.state.online') };
}
