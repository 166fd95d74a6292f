// pages/device.js — "#/devices/{uid}": one device. A header with its name (tap to rename) and
// online state, links to watch it live (Live, the main action) and to its recordings
// (Playback), Info from its last state report, Settings, Motion zones & schedule, Controls
// and Notifications (snooze; own modules), Firmware (installed, available, Update and its
// progress; pages/device-firmware.js), Network settings (pages/device-network.js), a link
// to the SD card (pages/card.js), and the danger zone to unbind it; for the owner a
// link to Share it (pages/share.js). A camera shared with the account is badged "Shared by
// <nickname>", shows only what its member may do (the device's capabilities) and offers
// "Leave" instead of unbinding. Refreshed every few seconds; a device not in the account
// shows a not-found state.

import { devices, sharing } from '../api.js';
import { icon } from '../icons.js';
import {
  h, alertBox, showError, hideAlert, busy, toast, confirmDialog, emptyState, timeEl, formatDate,
} from '../ui.js';
import {
  deviceTitle, kindTile, presence, signalBars, signalWord, batteryChip, sizeText, poller, SD_LABELS, KIND_LABELS,
} from '../device-ui.js';
import { settingsCard } from './device-settings.js';
import { controlsCard } from './device-controls.js';
import { motionCard } from './device-motion.js';
import { networkCard } from './device-network.js';
import { firmwareCard } from './device-firmware.js';
import { deviceNotifyCard } from '../notify-ui.js';
import { can, isMember, sharedBadge } from '../sharing-ui.js';

export const title = 'Device';

const REFRESH_MS = 4000;

function backLink() {
  return h('a', { class: 'icon-btn', href: '#/devices', 'aria-label': 'Back to devices', testid: 'device-back' }, icon('back'));
}

function notFound() {
  return emptyState({
    iconName: 'camera',
    title: 'Device not found',
    text: 'This device is not in your account. It may have been removed, or the link is wrong.',
    testid: 'device-not-found',
    action: h('a', { class: 'btn btn-primary', href: '#/devices', testid: 'device-not-found-back' }, 'Back to devices'),
  });
}

/** The header: back link and the name, which turns into a rename form when tapped. */
function nameHeader(d, onRenamed) {
  const head = h('header', { class: 'page-head' });
  const alert = alertBox('device-rename-alert');
  let current = d;

  const showName = () => {
    if (!can(current, 'change-settings')) {
      head.replaceChildren(backLink(), h('h1', { class: 'page-title' }, h('span', { class: 'name-text', testid: 'device-name-text' }, deviceTitle(current))));
      return null;
    }
    const button = h(
      'button',
      { type: 'button', class: 'name-btn', testid: 'device-name', title: 'Rename' },
      h('span', { class: 'name-text', testid: 'device-name-text' }, deviceTitle(current)),
      h('span', { class: 'name-edit' }, icon('pencil', 18), h('span', { class: 'visually-hidden' }, ' (rename)')),
    );
    button.addEventListener('click', showForm);
    head.replaceChildren(backLink(), h('h1', { class: 'page-title' }, button));
    return button;
  };

  const showForm = () => {
    const input = h('input', {
      class: 'input', type: 'text', maxlength: 40, value: current.name || '', placeholder: deviceTitle(current),
      'aria-label': 'Device name', autocomplete: 'off', testid: 'device-rename-input',
    });
    const save = h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'device-rename-save' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'device-rename-cancel' }, 'Cancel');
    const form = h('form', { class: 'rename', novalidate: true, testid: 'device-rename-form' }, input, save, cancel);
    const close = () => {
      hideAlert(alert);
      showName()?.focus();
    };
    cancel.addEventListener('click', close);
    input.addEventListener('keydown', (event) => event.key === 'Escape' && close());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (!name || [...name].length > 40) {
        showError(alert, new Error('A device name has 1 to 40 characters.'));
        input.focus();
        return;
      }
      busy(save, async () => {
        try {
          current = await devices.rename(d.uid, name);
          onRenamed(current);
          toast('Name saved', 'success');
          close();
        } catch (err) {
          showError(alert, err);
        }
      });
    });
    head.replaceChildren(backLink(), form);
    input.focus();
    input.select();
  };

  showName();
  return {
    head,
    alert,
    update(next) {
      const renaming = head.querySelector('form');
      current = next;
      if (!renaming) showName();
    },
  };
}

/** One "label: value" row of the Info list. */
function row(key, label, ...value) {
  return [h('dt', null, label), h('dd', { testid: `info-${key}` }, value)];
}

function infoRows(d) {
  const r = d.reported;
  const rows = [row('uid', 'UID', d.uid), row('model', 'Model', `${d.model} · ${KIND_LABELS[d.kind] || d.kind}`)];
  if (!r) {
    return h('div', null, h('dl', { class: 'info' }, rows), h('p', { class: 'muted small', testid: 'device-info-none' }, 'More details appear once the device has connected and reported in.'));
  }
  const sd = r.sd_card;
  const sdValue =
    sd.status === 'ok' || (sd.status === 'formatting' && sd.total_mb)
      ? [
          `${SD_LABELS[sd.status]} · ${sizeText(sd.used_mb)} used of ${sizeText(sd.total_mb)}`,
          h('meter', { class: 'meter', min: 0, max: sd.total_mb || 1, value: sd.used_mb, 'aria-label': 'SD card usage' }),
        ]
      : SD_LABELS[sd.status] || sd.status;
  rows.push(
    row('firmware', 'Firmware', r.firmware),
    row('mac', 'MAC address', r.mac),
    row('timezone', 'Time zone', r.timezone),
    row('lan-ip', 'LAN IP', r.lan_ip),
    row('ssid', 'Wi-Fi', r.ssid),
    row('signal', 'Signal', signalBars(r.signal_dbm), ` ${signalWord(r.signal_dbm)} · ${r.signal_dbm} dBm`),
    r.battery_pct == null
      ? row('battery', 'Power', r.charging ? 'Mains · charging' : 'Mains powered')
      : row('battery', 'Battery', batteryChip(r.battery_pct, r.charging), r.charging ? ' · charging' : ''),
    row('sd', 'SD card', sdValue),
  );
  if (r.sim) rows.push(row('sim', 'SIM card', `${r.sim.iccid} · ${r.sim.status}`));
  if (d.bound_at) rows.push(row('added', 'Added', formatDate(d.bound_at)));
  if (d.reported_at) rows.push(row('updated', 'Last report', timeEl(d.reported_at)));
  return h('dl', { class: 'info' }, rows);
}

/** For a member: leave the shared camera (the owner keeps it). */
function leaveCard(d, ctx) {
  const alert = alertBox('device-leave-alert');
  const button = h('button', { type: 'button', class: 'btn btn-danger-outline btn-block', testid: 'device-leave' }, icon('logout', 20), 'Leave this camera');
  button.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Leave ${deviceTitle(d)}?`,
      text: `It leaves your devices and its alarms leave your Message Center. ${d.shared_by || 'The owner'} can invite you again.`,
      confirmLabel: 'Leave',
      danger: true,
      testid: 'confirm',
    });
    if (!ok) return;
    busy(button, async () => {
      try {
        await sharing.leave(d.uid);
        toast('You left the camera', 'success');
        ctx.navigate('#/devices', { replace: true });
      } catch (err) {
        if (err.status === 404) ctx.navigate('#/devices', { replace: true });
        else showError(alert, err);
      }
    });
  });
  return h(
    'div',
    { class: 'card danger-card', testid: 'device-leave-card' },
    h('h2', { class: 'card-title' }, 'Shared with you'),
    h('p', { class: 'muted small card-lead' }, `${d.shared_by || 'Its owner'} shares this camera with you.`),
    alert,
    button,
  );
}

function dangerCard(d, ctx) {
  const alert = alertBox('device-unbind-alert');
  const button = h('button', { type: 'button', class: 'btn btn-danger-outline btn-block', testid: 'device-unbind' }, icon('trash', 20), 'Unbind and delete');
  button.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Remove ${deviceTitle(d)}?`,
      text: 'The device leaves your account and everything Kankan stored about it is deleted. Someone else can then add it.',
      confirmLabel: 'Unbind and delete',
      danger: true,
      testid: 'confirm',
    });
    if (!ok) return;
    busy(button, async () => {
      try {
        await devices.unbind(d.uid);
        toast('Device removed', 'success');
        ctx.navigate('#/devices', { replace: true });
      } catch (err) {
        showError(alert, err);
      }
    });
  });
  return h(
    'div',
    { class: 'card danger-card', testid: 'device-danger' },
    h('h2', { class: 'card-title' }, 'Danger zone'),
    h('p', { class: 'muted small card-lead' }, 'Unbinding removes the device from your account and deletes its data on this server.'),
    alert,
    button,
  );
}

export function render(ctx) {
  const uid = ctx.params.uid;
  const root = h(
    'section',
    { class: 'page', testid: 'page-device', dataset: { uid } },
    h('header', { class: 'page-head' }, backLink(), h('h1', { class: 'page-title' }, uid)),
    h('div', { class: 'card skeleton', 'aria-busy': 'true' }, h('span', { class: 'sk-line' }), h('span', { class: 'sk-line short' })),
  );
  const alert = alertBox('device-alert');
  let view = null;
  let built = null; // the role and capabilities the view was built for
  let firmware = null; // the Firmware card (polls on its own)

  const build = (d) => {
    const header = nameHeader(d, (next) => paint(next));
    const hero = h('div', { class: 'card device-hero', testid: 'device-hero' });
    const info = h('div', { class: 'card', testid: 'device-info' });
    const settings = settingsCard(d, { onSaved: (next) => paint(next, { settings: false }) });
    const controls = controlsCard(d, ctx);
    const motion = motionCard(d, { onSaved: (next) => paint(next, { motion: false }), onLeave: ctx.onLeave });
    const network = networkCard(d);
    const paint = (next, { settings: withSettings = true, motion: withMotion = true } = {}) => {
      document.title = `${deviceTitle(next)} · Kankan`;
      header.update(next);
      const r = next.reported;
      hero.replaceChildren(
        kindTile(next.kind, { large: true }),
        h(
          'div',
          { class: 'device-hero-text' },
          presence(next, 'device-presence'),
          sharedBadge(next, 'device-shared'),
          h('p', { class: 'muted small' }, `${KIND_LABELS[next.kind] || next.kind} · ${next.model} · ${next.uid}`),
        ),
        h(
          'div',
          { class: 'device-card-meta' },
          r && r.battery_pct != null ? batteryChip(r.battery_pct, r.charging) : null,
          r && next.online ? signalBars(r.signal_dbm) : null,
        ),
      );
      info.replaceChildren(h('h2', { class: 'card-title' }, 'Info'), infoRows(next));
      if (withSettings) settings.update(next);
      if (withMotion) motion.update(next);
      controls.update(next);
      network.update(next);
    };
    const base = `#/devices/${encodeURIComponent(d.uid)}`;
    const actions = h(
      'div',
      { class: 'device-actions' },
      can(d, 'view-live') ? h('a', { class: 'btn btn-primary', href: `${base}/live`, testid: 'device-live' }, icon('camera', 20), 'Live') : null,
      can(d, 'play-back') ? h('a', { class: 'btn btn-secondary', href: `${base}/playback`, testid: 'device-playback' }, icon('play', 20), 'Playback') : null,
      can(d, 'play-back') && d.model !== 'RTSP' ? h('a', { class: 'btn btn-secondary', href: `${base}/card`, testid: 'device-sdcard' }, icon('play', 20), 'SD card') : null,
      isMember(d) ? null : h('a', { class: 'btn btn-secondary', href: `${base}/share`, testid: 'device-share' }, icon('qr', 20), 'Share'),
      isMember(d) ? null : h('a', { class: 'btn btn-secondary', href: `${base}/plan`, testid: 'device-plan' }, 'Cloud storage'),
    );
    paint(d);
    // An ordinary RTSP camera records and plays back, but takes no Kankan settings or commands.
    const kankanDevice = d.model !== 'RTSP';
    const parts = [header.head, header.alert, alert, hero, actions, info];
    firmware?.stop();
    firmware = kankanDevice ? firmwareCard(d, ctx) : null;
    if (firmware) parts.push(firmware.node);
    if (kankanDevice && can(d, 'change-settings')) parts.push(settings.node, motion.node, controls.node, network.node);
    if (can(d, 'receive-alarms')) parts.push(deviceNotifyCard(d));
    root.replaceChildren(...parts, isMember(d) ? leaveCard(d, ctx) : dangerCard(d, ctx));
    return paint;
  };

  const poll = poller(async () => {
    try {
      const d = await devices.get(uid);
      if (!ctx.isCurrent()) return;
      hideAlert(alert);
      // What the account may do changed (the owner granted more, or less): build anew.
      const access = JSON.stringify([d.role, d.capabilities]);
      if (view && access === built) view(d);
      else {
        view = build(d);
        built = access;
      }
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      if (err.code === 'device-not-found' || err.status === 404) {
        poll.stop();
        view = null;
        root.replaceChildren(h('header', { class: 'page-head' }, backLink(), h('h1', { class: 'page-title' }, 'Device')), notFound());
        return;
      }
      showError(alert, err);
      if (!view) root.replaceChildren(h('header', { class: 'page-head' }, backLink(), h('h1', { class: 'page-title' }, 'Device')), alert);
    }
  }, REFRESH_MS);
  ctx.onLeave(poll.stop);
  return root;
}
