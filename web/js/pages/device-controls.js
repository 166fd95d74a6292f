// pages/device-controls.js — the Controls card of a device's page: a pan/tilt pad, presets 1-8,
// restart and SD card formatting. Each command's outcome is shown in one status line (see
// device-commands.js).

import { icon } from '../icons.js';
import { h, busy, confirmDialog } from '../ui.js';
import { commandRunner, hasPtz, ptzPad } from '../device-commands.js';

const PRESETS = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * The Controls card for device `d`. Returns `{ node, update(d) }`. `ctx.isCurrent()` stops
 * polling a command once the page is left.
 */
export function controlsCard(d, ctx) {
  let latest = d;
  /** `run(label, command)` sends `command`; `label` names it in the status line ("Pan left"). */
  const { status, run } = commandRunner(d.uid, ctx, 'device-command-status');

  // Pan/tilt pad (cameras only).
  const pad = ptzPad(run);

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
  ptz.hidden = !hasPtz(d);

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
