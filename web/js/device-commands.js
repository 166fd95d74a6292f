// device-commands.js — sending a device command and showing its outcome, shared by the device
// page's Controls card and the Live page: one status line per page (a 200 answer is final; a 202
// answer, "sent", is polled until the device has answered or timed out), and the pan/tilt pad.

import { devices } from './api.js';
import { icon } from './icons.js';
import { h, busy, sleep } from './ui.js';

const POLL_MS = 1000;

/** PTZ pad buttons: where they sit in the 3×3 grid, and the step they send. */
const MOVES = [
  { dir: 'up', label: 'Tilt up', pan: 0, tilt: 1, icon: 'up' },
  { dir: 'left', label: 'Pan left', pan: -1, tilt: 0, icon: 'back' },
  { dir: 'right', label: 'Pan right', pan: 1, tilt: 0, icon: 'chevron' },
  { dir: 'down', label: 'Tilt down', pan: 0, tilt: -1, icon: 'down' },
];

/** Whether device `d` can pan and tilt: Kankan cameras (not doorbells, not RTSP cameras). */
export function hasPtz(d) {
  return d.kind === 'camera' && d.model !== 'RTSP';
}

/**
 * A status line (test id `testid`) and `run(label, command)`, which sends `command` to device
 * `uid` and shows its outcome there, labelled ("Pan left: done"). Only the newest command's
 * outcome is shown; polling stops once `ctx.isCurrent()` is false. Returns `{ status, run }`.
 */
export function commandRunner(uid, ctx, testid) {
  let shown = 0; // the newest command whose outcome the status line shows
  const status = h('p', { class: 'cmd-status', testid, role: 'status', hidden: true });
  const paint = (state, text) => {
    status.hidden = false;
    status.dataset.status = state;
    status.className = `cmd-status is-${state}`;
    const ic = { succeeded: 'check', failed: 'alert', 'timed-out': 'alert' }[state];
    status.replaceChildren(ic ? icon(ic, 18) : h('span', { class: 'spinner spinner-sm', 'aria-hidden': 'true' }), text);
  };

  const run = async (label, command) => {
    const mine = ++shown;
    const show = (state, text) => mine === shown && paint(state, text);
    show('sending', `${label}: sending…`);
    try {
      let info = await devices.sendCommand(uid, command);
      while (info.status === 'sent') {
        show('sent', `${label}: waiting for the device…`);
        await sleep(POLL_MS);
        if (!ctx.isCurrent()) return;
        info = await devices.command(uid, info.id);
      }
      if (info.status === 'succeeded') show('succeeded', `${label}: done`);
      else if (info.status === 'failed') show('failed', `${label} failed: ${info.error || 'the device refused it'}`);
      else show('timed-out', `${label}: the device did not answer in time`);
    } catch (err) {
      if (err.status !== 401) show('failed', `${label} failed: ${err.message}`);
    }
  };
  return { status, run };
}

/** Makes `button` run `command` (named `label`) through `run` when clicked, busy meanwhile. */
export function commandButton(button, run, label, command) {
  button.addEventListener('click', () => busy(button, () => run(label, command)));
  return button;
}

/**
 * The pan/tilt pad: four arrows sending `ptz-move` steps through `run`. Test ids are
 * `${prefix}-up`, `-left`, `-right`, `-down`.
 */
export function ptzPad(run, prefix = 'ptz') {
  const pad = h('div', { class: 'ptz-pad', role: 'group', 'aria-label': 'Pan and tilt' });
  for (const m of MOVES) {
    const b = h('button', { type: 'button', class: `ptz-btn ptz-${m.dir}`, 'aria-label': m.label, title: m.label, testid: `${prefix}-${m.dir}` }, icon(m.icon, 28));
    pad.append(commandButton(b, run, m.label, { name: 'ptz-move', pan: m.pan, tilt: m.tilt }));
  }
  pad.append(h('span', { class: 'ptz-hub', 'aria-hidden': 'true' }, icon('move', 22)));
  return pad;
}
