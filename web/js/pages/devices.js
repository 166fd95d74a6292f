// pages/devices.js — "#/devices": the device list (landing page after login). One card per
// device with its kind, name, online state, battery and Wi-Fi signal, refreshed every few
// seconds while the page is open; an empty state when there are none. Both lead to "Add device";
// the empty state also to "Add an RTSP camera". With devices, the header also leads to the grid
// of every camera live at once ("#/live"). Cameras shared with the account come after its own,
// badged "Shared by <nickname>"; "Scan a QR code" opens an invitation ("#/scan").

import { devices } from '../api.js';
import { icon } from '../icons.js';
import { h, pageHeader, emptyState, alertBox, showError, hideAlert } from '../ui.js';
import { deviceTitle, kindTile, presence, signalBars, batteryChip, poller, KIND_LABELS } from '../device-ui.js';
import { isMember, sharedBadge } from '../sharing-ui.js';

export const title = 'Devices';

const REFRESH_MS = 5000;

function addLink(testid, { small = false } = {}) {
  return h(
    'a',
    { class: `btn btn-primary${small ? ' btn-small' : ''}`, href: '#/devices/add', testid },
    icon('plus', small ? 18 : 20),
    'Add device',
  );
}

function deviceCard(d) {
  const r = d.reported;
  const meta = h('span', { class: 'device-card-meta' });
  if (r && r.battery_pct != null) meta.append(batteryChip(r.battery_pct, r.charging, 'device-card-battery'));
  if (r && d.online) meta.append(signalBars(r.signal_dbm, 'device-card-signal'));
  return h(
    'a',
    { class: `card device-card${d.online ? '' : ' is-offline'}`, href: `#/devices/${encodeURIComponent(d.uid)}`, testid: 'device-card', dataset: { uid: d.uid, role: d.role || 'owner' } },
    kindTile(d.kind),
    h(
      'span',
      { class: 'device-card-text' },
      h('span', { class: 'device-card-name', testid: 'device-card-name' }, deviceTitle(d)),
      h('span', { class: 'device-card-sub' }, `${KIND_LABELS[d.kind] || d.kind} · ${d.model}`),
      presence(d, 'device-card-presence'),
      sharedBadge(d, 'device-card-shared'),
    ),
    meta,
    h('span', { class: 'device-card-go' }, icon('chevron', 20)),
  );
}

function scanLink(testid) {
  return h('a', { class: 'btn btn-secondary', href: '#/scan', testid }, icon('qr', 18), 'Scan a QR code');
}

function skeletonCard() {
  return h(
    'div',
    { class: 'card device-card skeleton-card', 'aria-hidden': 'true' },
    h('span', { class: 'kind-tile' }),
    h('span', { class: 'device-card-text' }, h('span', { class: 'sk-line' }), h('span', { class: 'sk-line short' })),
  );
}

export function render(ctx) {
  const alert = alertBox('devices-alert');
  const headAdd = h(
    'span',
    { class: 'btn-row' },
    h('a', { class: 'btn btn-secondary btn-small', href: '#/live', testid: 'devices-grid' }, icon('camera', 18), 'All live'),
    h('a', { class: 'icon-btn', href: '#/scan', 'aria-label': 'Scan a QR code', title: 'Scan a QR code', testid: 'devices-scan' }, icon('qr')),
    addLink('devices-add', { small: true }),
  );
  headAdd.hidden = true;
  const list = h('div', { class: 'device-grid', testid: 'devices-list', 'aria-busy': 'true' }, skeletonCard(), skeletonCard());
  const empty = emptyState({
    iconName: 'camera',
    title: 'No devices yet',
    text: 'Add a Kankan camera or doorbell with the UID on its label, or any IP camera by its RTSP address. Then watch it live, get alerts and play back recordings, all from your own server. Someone shares a camera with you? Scan their QR code.',
    testid: 'devices-empty',
    action: h(
      'div',
      { class: 'btn-row empty-actions' },
      addLink('devices-empty-add'),
      h('a', { class: 'btn btn-secondary', href: '#/devices/add-rtsp', testid: 'devices-empty-add-rtsp' }, 'Add an RTSP camera'),
      scanLink('devices-empty-scan'),
    ),
  });
  empty.hidden = true;

  // Cards are kept while what they show is unchanged, so a refresh doesn't disturb focus.
  const cards = new Map();
  const paint = (all) => {
    const next = new Map();
    const nodes = all.map((d) => {
      const key = JSON.stringify([d.role, d.shared_by, d.name, d.model, d.kind, d.online, d.online ? null : presence(d).textContent, d.reported?.battery_pct, d.reported?.charging, d.reported?.signal_dbm]);
      const old = cards.get(d.uid);
      const node = old && old.key === key ? old.node : deviceCard(d);
      next.set(d.uid, { key, node });
      return node;
    });
    cards.clear();
    for (const [uid, card] of next) cards.set(uid, card);
    list.replaceChildren(...nodes);
    list.removeAttribute('aria-busy');
    list.hidden = !all.length;
    empty.hidden = all.length > 0;
    headAdd.hidden = !all.length;
  };

  let loaded = false;
  const poll = poller(async () => {
    try {
      const all = await devices.list();
      if (!ctx.isCurrent()) return;
      hideAlert(alert);
      // The account's own devices first, then those shared with it.
      all.sort((a, b) => isMember(a) - isMember(b) || String(a.bound_at).localeCompare(String(b.bound_at)) || a.uid.localeCompare(b.uid));
      paint(all);
      loaded = true;
    } catch (err) {
      if (err.status === 401) return;
      showError(alert, err);
      if (!loaded) list.replaceChildren();
    }
  }, REFRESH_MS);
  ctx.onLeave(poll.stop);

  return h(
    'section',
    { class: 'page', testid: 'page-devices' },
    pageHeader('Devices', { trailing: headAdd }),
    alert,
    list,
    empty,
  );
}
