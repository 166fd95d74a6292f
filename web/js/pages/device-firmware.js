// pages/device-firmware.js — the Firmware card of a device's page: the installed version, a
// newer one the operator released for it with an Update button (for whoever may change the
// camera's settings), the update's progress as the camera reports it (downloading with a
// progress bar, verifying, installing, restarting), and how it ended: "Up to date", or "The
// update failed and the camera went back to X" when it rolled back. Automatic updates (on by
// default) are switched in the Settings card. Polled every 2 s while an update runs, else
// with the page.

import { devices } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showError, hideAlert, busy, toast } from '../ui.js';
import { can } from '../sharing-ui.js';
import { poller } from '../device-ui.js';

const PHASES = {
  offered: 'Waiting for the camera…',
  downloading: 'Downloading',
  verifying: 'Checking the signature',
  installing: 'Installing',
  rebooting: 'Restarting',
  confirmed: 'Updated',
  failed: 'Update failed',
  'rolled-back': 'Update failed',
};
const RUNNING = ['offered', 'downloading', 'verifying', 'installing', 'rebooting'];
const FAST_MS = 2000;
const SLOW_MS = 8000;

function mib(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** The card; `ctx.onLeave` stops its polling. */
export function firmwareCard(d, ctx) {
  const alert = alertBox('device-firmware-alert');
  const body = h('div', { testid: 'firmware-body' }, h('p', { class: 'muted small' }, 'Checking…'));
  const node = h('div', { class: 'card', testid: 'device-firmware' }, h('h2', { class: 'card-title' }, 'Firmware'), alert, body);
  let fast = false;

  const paint = (f) => {
    const rows = [h('p', { testid: 'firmware-installed' }, 'Installed: ', h('strong', null, f.installed || 'not reported yet'))];
    const u = f.update;
    const running = u && RUNNING.includes(u.phase);
    if (running) {
      rows.push(
        h('p', { testid: 'firmware-phase', dataset: { phase: u.phase } }, `${PHASES[u.phase]} ${u.version}`, u.phase === 'downloading' ? ` · ${u.percent}%` : ''),
        h('progress', { class: 'export-progress', max: 100, value: u.phase === 'downloading' ? u.percent : 100, testid: 'firmware-progress', 'aria-label': 'Update progress' }),
      );
    } else if (u && u.phase === 'rolled-back') {
      rows.push(h('p', { class: 'fw-failed', testid: 'firmware-failed', role: 'status' }, icon('alert', 16), ` The update to ${u.version} failed and the camera went back to ${u.from_version}.`));
    } else if (u && u.phase === 'failed') {
      rows.push(h('p', { class: 'fw-failed', testid: 'firmware-failed', role: 'status' }, icon('alert', 16), ` The update to ${u.version} failed${u.error ? ` (${u.error})` : ''}; the camera still runs ${u.from_version}.`));
    }
    if (f.available && !running) {
      rows.push(h('p', { testid: 'firmware-available' }, 'Available: ', h('strong', null, f.available.version), ` (${mib(f.available.size)})`));
      if (can(d, 'change-settings')) {
        const button = h('button', { type: 'button', class: 'btn btn-primary', testid: 'firmware-update' }, 'Update');
        button.addEventListener('click', () =>
          busy(button, async () => {
            try {
              hideAlert(alert);
              paint(await devices.updateFirmware(d.uid));
              toast('The update has started', 'success');
              poll.now();
            } catch (err) {
              showError(alert, err);
            }
          }),
        );
        rows.push(button);
      }
    } else if (!running && f.installed) {
      rows.push(h('p', { class: 'muted small', testid: 'firmware-current' }, u && u.phase === 'confirmed' ? `Updated to ${f.installed}. ` : '', 'Up to date.'));
    }
    rows.push(h('p', { class: 'hint', testid: 'firmware-auto' }, f.auto_update ? 'Automatic updates are on.' : 'Automatic updates are off: press Update to install new firmware.'));
    body.replaceChildren(...rows);
    fast = !!running;
  };

  let last = 0;
  const poll = poller(async () => {
    if (!fast && Date.now() - last < SLOW_MS) return;
    last = Date.now();
    try {
      paint(await devices.firmware(d.uid));
      hideAlert(alert);
    } catch (err) {
      if (err.status !== 401) showError(alert, err);
    }
  }, FAST_MS);
  ctx.onLeave(poll.stop);
  return { node, stop: poll.stop };
}
