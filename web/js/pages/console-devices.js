// pages/console-devices.js — "#/console/devices" and "#/console/devices/:uid": the fleet by
// model, firmware and online state (with filters), and a device's health: online, last seen,
// firmware, signal, power and storage, recent problems. Never its video or owner.

import { h, alertBox, showError, formatDateTime } from '../ui.js';
import { staffRequest } from '../console-api.js';

export const title = 'Devices';

const when = (ms) => (ms ? formatDateTime(new Date(ms).toISOString()) : '—');

function table(headers, rows, testid) {
  return h(
    'table',
    { class: 'console-table', testid },
    h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
    h('tbody', null, rows),
  );
}

function health(uid) {
  const alert = alertBox('console-device-alert');
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  staffRequest('GET', `/api/v1/admin/devices/${encodeURIComponent(uid)}`)
    .then((d) => {
      const r = d.report;
      body.replaceChildren(
        h(
          'dl',
          { class: 'console-facts', testid: 'console-device-health' },
          h('dt', null, 'Model'),
          h('dd', null, d.device.model),
          h('dt', null, 'Online'),
          h('dd', { testid: 'console-device-online' }, d.device.online ? 'Online' : 'Offline'),
          h('dt', null, 'Last seen'),
          h('dd', null, when(d.device.last_seen_ms)),
          h('dt', null, 'Firmware'),
          h('dd', null, d.device.firmware || '—'),
          r ? [h('dt', null, 'Signal'), h('dd', { testid: 'console-device-signal' }, `${r.signal_dbm} dBm`)] : null,
          r ? [h('dt', null, 'Storage'), h('dd', null, `${r.sd_status}, ${r.sd_used_mb} of ${r.sd_total_mb} MB used`)] : null,
          r && r.battery_pct != null ? [h('dt', null, 'Battery'), h('dd', null, `${r.battery_pct}%`)] : null,
        ),
        h('h2', null, 'Recent problems'),
        d.problems.length
          ? table(
              ['When', 'What', 'Detail'],
              d.problems.map((p) => h('tr', { testid: 'console-device-problem' }, h('td', null, when(p.at_ms)), h('td', null, `${p.kind}: ${p.what}`), h('td', null, p.error || ''))),
              'console-device-problems',
            )
          : h('p', { class: 'muted' }, 'None recorded.'),
      );
    })
    .catch((err) => showError(alert, err));
  return h('section', { class: 'console-section', testid: 'page-console-device' }, h('p', null, h('a', { href: '#/console/devices' }, '← Devices')), h('h1', null, uid), alert, body);
}

function fleet(query) {
  const alert = alertBox('console-devices-alert');
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const params = new URLSearchParams();
  for (const k of ['model', 'firmware', 'online', 'after']) if (query && query.get && query.get(k)) params.set(k, query.get(k));
  staffRequest('GET', `/api/v1/admin/devices?${params}`)
    .then((f) => {
      body.replaceChildren(
        h('h2', null, 'By model, firmware and state'),
        table(
          ['Model', 'Firmware', 'State', 'Devices'],
          f.counts.map((c) => h('tr', { testid: 'console-fleet-count' }, h('td', null, c.model), h('td', null, c.firmware || 'not reported'), h('td', null, c.online ? 'online' : 'offline'), h('td', null, String(c.count)))),
          'console-fleet-counts',
        ),
        h('h2', null, 'Devices'),
        table(
          ['UID', 'Model', 'Firmware', 'State', 'Last seen'],
          f.devices.map((d) =>
            h(
              'tr',
              { testid: 'console-fleet-device' },
              h('td', null, h('a', { href: `#/console/devices/${d.uid}` }, d.uid)),
              h('td', null, d.model),
              h('td', null, d.firmware || '—'),
              h('td', null, d.online ? 'online' : 'offline'),
              h('td', null, when(d.last_seen_ms)),
            ),
          ),
          'console-fleet-devices',
        ),
        f.next ? h('p', null, h('a', { href: `#/console/devices?after=${encodeURIComponent(f.next)}` }, 'Next page')) : null,
      );
    })
    .catch((err) => showError(alert, err));
  return h('section', { class: 'console-section', testid: 'page-console-devices' }, h('h1', null, 'Devices'), alert, body);
}

export function render({ params, query }) {
  return params.uid ? health(params.uid) : fleet(query);
}
