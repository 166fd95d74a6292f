// pages/device-controls.js — the Controls card of a device's page: a pan/tilt pad, presets 1-8,
// restart and SD card formatting. Each command's outcome is shown in one status line: a 200
// answer is final; a 202 answer ("sent") is polled until the device has answered or timed out.

import { devices } from '../api.js';
import { icon } from '../icons.js';
import { h, busy, confirmDialog, sleep } from '../ui.js';

const POLL_MS = 1000;
const PRESETS = [1, 2, 3, 4, 5, 6, 7, 8];

/** PTZ pad buttons: where they sit in the 3×3 grid, and the step they send. */
const MOVES = [
  { dir: 'up', label: 'Tilt up', pan: 0, tilt: 1, icon: 'up' },
  { dir: 'left', label: 'Pan left', pan: -1, tilt: 0, icon: 'back' },
  { dir: 'right', label: 'Pan right', pan: 1, tilt: 0, icon: 'chevron' },
  { dir: 'down', label: 'Tilt down', pan: 0, tilt: -1, icon: 'down' },
];

/**
 * The Controls card for device `d`. Returns `{ node, update(d) }`. `ctx.isCurrent()` stops
 * polling a command once the page is left.
 */
export function controlsCard(d, ctx) {
  let latest = d;
  let shown = 0; // the newest command whose outcome the status line shows

  const status = h('p', { class: 'cmd-status', testid: 'device-command-status', role: 'status', hidden: true });
  const paint = (state, text) => {
    status.hidden = false;
    status.dataset.status = state;
    status.className = `cmd-status is-${state}`;
    const ic = { succeeded: 'check', failed: 'alert', 'timed-out': 'alert' }[state];
    status.replaceChildren(ic ? icon(ic, 18) : h('span', { class: 'spinner spinner-sm', 'aria-hidden': 'true' }), text);
  };

  /** Sends `command`; `label` names it in the status line ("Pan left"). */
  const run = async (label, command) => {
    const mine = ++shown;
    const show = (state, text) => mine === shown && paint(state, text);
    show('sending', `${label}: sending…`);
    try {
      let info = await devices.sendCommand(d.uid, command);
      while (info.status === 'sent') {
        show('sent', `${label}: waiting for the device…`);
        await sleep(POLL_MS);
        if (!ctx.isCurrent()) return;
        info = await devices.command(d.uid, info.id);
      }
      if (info.status === 'succeeded') show('succeeded', `${label}: done`);
      else if (info.status === 'failed') show('failed', `${label} failed: ${info.error || 'the device refused it'}`);
      else show('timed-out', `${label}: the device did not answer in time`);
    } catch (err) {
      if (err.status !== 401) show('failed', `${label} failed: ${err.message}`);
    }
  };
  const onClick = (button, label, command) => button.addEventListener('click', () => busy(button, () => run(label, command)));

  // Pan/tilt pad (cameras only).
  const pad = h('div', { class: 'ptz-pad', role: 'group', 'aria-label': 'Pan and tilt' });
  for (const m of MOVES) {
    const b = h('button', { type: 'button', class: `ptz-btn ptz-${m.dir}`, 'aria-label': m.label, title: m.label, testid: `ptz-${m.dir}` }, icon(m.icon, 28));
    onClick(b, m.label, { name: 'ptz-move', pan: m.pan, tilt: m.tilt });
    pad.append(b);
  }
  pad.append(h('span', { class: 'ptz-hub', 'aria-hidden': 'true' }, icon('move', 22)));

  // Presets: pick a slot, then go there or save the current position into it.
  let slot = 1;
  const chips = PRESETS.map((n) => {
    const chip = h('button', { type: 'button', class: 'chip', 'aria-pressed': String(n === slot), testid: `preset-slot-${n}` }, String(n));
    chip.addEventListener('click', () => {
      slot = n;
      chips.forEach((c, i) => c.setAttribute('aria-pressed', String(PRESETS[i] === n)));
    });
    return chip;
  });
  const goto = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'preset-goto' }, 'Go to preset');
  const save = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'preset-save' }, 'Save position here');
  goto.addEventListener('click', () => busy(goto, () => run(`Go to preset ${slot}`, { name: 'preset-goto', slot })));
  save.addEventListener('click', () => busy(save, () => run(`Save preset ${slot}`, { name: 'preset-save', slot })));

  const ptz = h(
    'div',
    { class: 'ptz', testid: 'device-ptz' },
    pad,
    h(
      'div',
      { class: 'presets' },
      h('p', { class: 'set-label', id: 'presets-label' }, 'Presets'),
      h('div', { class: 'chips', role: 'group', 'aria-labelledby': 'presets-label' }, chips),
      h('div', { class: 'btn-row' }, goto, save),
    ),
  );
  ptz.hidden = d.kind !== 'camera';

  // Restart and format, each after a confirmation.
  const reboot = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'device-reboot' }, icon('power', 18), 'Restart');
  reboot.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Restart the device?',
      text: 'It goes offline for about a minute while it restarts.',
      confirmLabel: 'Restart',
      testid: 'confirm',
    });
    if (ok) busy(reboot, () => run('Restart', { name: 'reboot' }));
  });
  const format = h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', testid: 'device-format-sd' }, icon('sdcard', 18), 'Format SD card');
  format.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Format the SD card?',
      text: 'Every recording on the card is erased. This cannot be undone.',
      confirmLabel: 'Format',
      danger: true,
      testid: 'confirm',
    });
    if (ok) busy(format, () => run('Format SD card', { name: 'format-sd' }));
  });

  const offline = h('p', { class: 'hint', testid: 'device-controls-offline' }, 'The device is offline: commands wait for it for a short while, then time out.');

  const update = (next) => {
    latest = next;
    offline.hidden = latest.online;
    const sd = latest.reported?.sd_card?.status;
    format.hidden = !sd || sd === 'absent';
  };
  update(d);

  return {
    node: h(
      'div',
      { class: 'card', testid: 'device-controls' },
      h('h2', { class: 'card-title' }, 'Controls'),
      offline,
      ptz,
      h('div', { class: 'btn-row controls-actions' }, reboot, format),
      status,
    ),
    update,
  };
}
