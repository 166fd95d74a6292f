// pages/live-extras.js — what the Live page shows around the player: Screenshot and Save clip
// (both into the Album, with a toast that links there), the pan/tilt pad with presets 1-4 for
// devices that have one, and an overlay on the picture with the device's battery, Wi-Fi signal
// and clock (the time now in the device's own time zone).

import { album } from '../api.js';
import { icon } from '../icons.js';
import { h, busy, toast } from '../ui.js';
import { batteryChip, signalBars } from '../device-ui.js';
import { commandButton, commandRunner, hasPtz, ptzPad } from '../device-commands.js';

/** "Save clip" keeps this many seconds of footage, up to now. */
const CLIP_SECONDS = 30;
const PRESETS = [1, 2, 3, 4];

const CAPTURE_ERRORS = {
  'not-live': 'The camera is not streaming right now, so there is no picture to save.',
  'no-recording': 'Nothing has been recorded from this camera yet, so there is no clip to save.',
};

function saved(what) {
  toast(
    [`${what} saved to your Album. `, h('a', { class: 'toast-link', href: '#/album', testid: 'toast-album-link' }, 'Open Album')],
    'success',
  );
}

function captureButton(testid, iconName, label, task) {
  const button = h('button', { type: 'button', class: 'btn btn-secondary', testid }, icon(iconName, 20), label);
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        await task();
      } catch (err) {
        if (err.status !== 401) toast(CAPTURE_ERRORS[err.code] || err.message, 'error');
      }
    }),
  );
  return button;
}

/** The Screenshot and "Save clip" buttons for camera `uid`. */
export function captureActions(uid) {
  return h(
    'div',
    { class: 'live-actions' },
    captureButton('live-screenshot', 'image', 'Screenshot', async () => {
      await album.screenshot(uid);
      saved('Screenshot');
    }),
    captureButton('live-clip', 'download', 'Save clip', async () => {
      await album.clip(uid, CLIP_SECONDS);
      saved(`The last ${CLIP_SECONDS} s`);
    }),
  );
}

/**
 * The pan/tilt card: the pad and presets 1-4 (`preset-goto`), with one command status line.
 * Hidden until `update(d)` learns the device has pan/tilt. Returns `{ node, update }`.
 */
export function ptzCard(uid, ctx) {
  const { status, run } = commandRunner(uid, ctx, 'live-command-status');
  const presets = PRESETS.map((n) =>
    commandButton(
      h('button', { type: 'button', class: 'chip', testid: `live-preset-${n}`, 'aria-label': `Go to preset ${n}` }, String(n)),
      run,
      `Go to preset ${n}`,
      { name: 'preset-goto', slot: n },
    ),
  );
  const node = h(
    'div',
    { class: 'card', testid: 'live-ptz', hidden: true },
    h('h2', { class: 'card-title' }, 'Pan and tilt'),
    h(
      'div',
      { class: 'ptz' },
      ptzPad(run, 'live-ptz'),
      h(
        'div',
        { class: 'presets' },
        h('p', { class: 'set-label', id: 'live-presets-label' }, 'Go to preset'),
        h('div', { class: 'chips chips-4', role: 'group', 'aria-labelledby': 'live-presets-label' }, presets),
      ),
    ),
    status,
  );
  return {
    node,
    update: (d) => {
      node.hidden = !hasPtz(d);
    },
  };
}

/** 24-hour "14:05:09" in time zone `tz` (the browser's own if the name is unknown). */
function clockFormat(tz) {
  const opts = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
  try {
    return new Intl.DateTimeFormat(undefined, { ...opts, timeZone: tz });
  } catch {
    return new Intl.DateTimeFormat(undefined, opts);
  }
}

/**
 * The overlay on the picture: battery (battery devices), Wi-Fi signal (while online) and the
 * device's clock, ticking every second until the page is left. Hidden until the device has
 * reported its state. Returns `{ node, update(d) }`.
 */
export function statusOverlay(ctx) {
  const node = h('div', { class: 'live-overlay', testid: 'live-overlay', hidden: true });
  const clock = h('span', { class: 'live-clock', testid: 'live-clock' });
  let tz = null;
  let format = null;
  const tick = () => {
    if (format) clock.textContent = format.format(new Date());
  };
  const timer = setInterval(tick, 1000);
  ctx.onLeave(() => clearInterval(timer));
  const update = (d) => {
    const r = d.reported;
    if (!r) {
      node.hidden = true;
      return;
    }
    if (r.timezone !== tz) {
      tz = r.timezone;
      format = clockFormat(tz);
      clock.title = `Time at the device (${tz})`;
      clock.dataset.timezone = tz;
    }
    tick();
    const parts = [
      r.battery_pct != null ? batteryChip(r.battery_pct, r.charging, 'live-battery') : null,
      d.online ? signalBars(r.signal_dbm, 'live-signal') : null,
      clock,
    ];
    node.replaceChildren(...parts.filter(Boolean));
    node.hidden = false;
  };
  return { node, update };
}
