// pages/device-motion.js — the device page's "Motion zones & schedule" card: activity zones
// drawn on the camera's latest recorded picture (zone-editor.js), when detection runs
// (schedule-editor.js), the device's time zone (the schedule is read on its clock) and, for
// doorbells, after how many seconds presence counts as loitering, and sound alarms (on/off and
// their sensitivity; off by default). Unlike the Settings card it
// saves on "Save", as the full Settings object (motion on/off and sensitivity stay the
// Settings card's); problems are shown next to the part they concern, whether found here or
// by the server (422 with a stable code).

import { devices, recordings } from '../api.js';
import { h, alertBox, showAlert, showError, hideAlert, busy, showFieldError, clearFieldError } from '../ui.js';
import { MediaLink } from '../media.js';
import { zoneEditor } from '../zone-editor.js';
import { scheduleEditor } from '../schedule-editor.js';
import { timeZoneSelect } from '../time-zones.js';

/** The picture is taken this long before the end of the latest recording. */
const PICTURE_BEFORE_END_MS = 1000;

const ZONE_CODES = new Set(['zone-points', 'zone-outside-frame', 'zone-degenerate', 'too-many-zones']);
const SCHEDULE_CODES = new Set(['schedule-period-inverted', 'schedule-periods-overlap', 'invalid-schedule']);

function settingsOf(d) {
  return d.desired || d.reported?.settings || null;
}

/**
 * The card for device `d`. `onSaved(d)` receives the DeviceInfo the server answered a save
 * with. Returns `{ node, update(d) }`; `update` repaints from a fresh DeviceInfo unless the
 * user has unsaved changes.
 */
export function motionCard(d, { onSaved, onLeave }) {
  const alert = alertBox('motion-alert');
  let latest = d;
  let dirty = false;
  let filled = null; // the settings last shown, as JSON

  const markDirty = () => {
    dirty = true;
    save.disabled = false;
    status.textContent = 'Unsaved changes';
  };
  const zones = zoneEditor({ onChange: markDirty, testid: 'zone-editor' });
  const schedule = scheduleEditor({ onChange: markDirty, testid: 'schedule' });
  const tz = timeZoneSelect({ id: `motion-tz-${d.uid}`, testid: 'set-time-zone' });
  tz.input.addEventListener('change', () => {
    clearFieldError(tz.input);
    markDirty();
  });
  const loiterId = `motion-loiter-${d.uid}`;
  const loiter = h('input', { class: 'input input-num', type: 'number', id: loiterId, min: 0, max: 600, step: 1, inputmode: 'numeric', testid: 'set-loiter', 'aria-describedby': `${loiterId}-hint` });
  loiter.addEventListener('input', () => {
    clearFieldError(loiter);
    markDirty();
  });
  const loiterRow = h(
    'div',
    { class: 'field', hidden: d.kind !== 'doorbell' },
    h('label', { class: 'label', for: loiterId }, 'Loitering alarm after (seconds)'),
    loiter,
    h('p', { class: 'hint', id: `${loiterId}-hint` }, 'Someone staying in view longer than this raises an alarm. 0 turns it off.'),
  );
  const soundId = `sound-alarm-${d.uid}`;
  const soundOn = h('input', { type: 'checkbox', id: soundId, testid: 'set-sound-alarm' });
  const soundSens = h('input', { class: 'input input-num', type: 'number', id: `${soundId}-sens`, min: 1, max: 100, step: 1, inputmode: 'numeric', testid: 'set-sound-sensitivity', 'aria-describedby': `${soundId}-hint` });
  for (const el of [soundOn, soundSens]) {
    el.addEventListener('input', () => {
      clearFieldError(soundSens);
      markDirty();
    });
  }
  const soundRows = [
    h('h3', { class: 'subhead' }, 'Sound alarm'),
    h('div', { class: 'field' }, h('label', { class: 'check', for: soundId }, soundOn, ' Alert me to loud or lasting sounds')),
    h(
      'div',
      { class: 'field' },
      h('label', { class: 'label', for: `${soundId}-sens` }, 'Sound sensitivity (1-100)'),
      soundSens,
      h('p', { class: 'hint', id: `${soundId}-hint` }, 'Higher hears quieter sounds above the room\'s usual level. The sound is judged on the camera.'),
    ),
  ];
  const status = h('span', { class: 'muted small', testid: 'motion-status', role: 'status' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'motion-save', disabled: true }, 'Save');
  const none = h('p', { class: 'muted small', testid: 'motion-none' }, 'Motion settings appear here once the device has connected and reported in.');
  const refresh = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'zone-picture-refresh' }, 'New picture');

  const form = h(
    'form',
    { class: 'form motion-form', novalidate: true, testid: 'motion-form' },
    h('div', { class: 'set-line' }, h('h3', { class: 'subhead' }, 'Activity zones'), refresh),
    zones.node,
    h('h3', { class: 'subhead' }, 'Schedule'),
    schedule.node,
    h('div', { class: 'field' }, h('label', { class: 'label', for: `motion-tz-${d.uid}` }, 'Device time zone'), tz.input),
    loiterRow,
    ...soundRows,
    h('div', { class: 'btn-row motion-actions' }, save, status),
  );

  const fill = (s) => {
    zones.setZones(s.motion?.zones || []);
    schedule.set(s.motion?.schedule || null);
    tz.set(s.time_zone || 'UTC');
    loiter.value = String(s.loiter_secs ?? 20);
    soundOn.checked = !!s.sound_alarm?.enabled;
    soundSens.value = String(s.sound_alarm?.sensitivity ?? 50);
    dirty = false;
    save.disabled = true;
  };

  const update = (next) => {
    latest = next;
    const s = settingsOf(next);
    none.hidden = !!s;
    form.hidden = !s;
    // Repaint only when the settings changed, and never over the user's edits or drawing.
    const key = s && JSON.stringify([s.motion, s.time_zone, s.loiter_secs, s.sound_alarm]);
    if (s && !dirty && !zones.drawing() && key !== filled) {
      filled = key;
      fill(s);
    }
  };

  // ---- The picture ----
  const link = new MediaLink(d.uid);
  onLeave(() => link.stop());
  const loadPicture = async () => {
    try {
      const now = Date.now();
      const t = await recordings.timeline(d.uid, now - 86_400_000, now);
      const last = [...(t.spans || [])].sort((a, b) => a.end_ms - b.end_ms).at(-1);
      if (!last) {
        zones.setImage(null);
        return;
      }
      await link.ensure();
      zones.setImage(link.url('snapshot.jpg', { at: Math.max(last.start_ms, last.end_ms - PICTURE_BEFORE_END_MS) }));
    } catch {
      zones.setImage(null);
    }
  };
  refresh.addEventListener('click', () => busy(refresh, loadPicture));

  // ---- Saving ----
  const showServerError = (err) => {
    if (ZONE_CODES.has(err.code)) zones.showError(err.message);
    else if (SCHEDULE_CODES.has(err.code)) schedule.showError(err.message);
    else if (err.code === 'invalid-time-zone') showFieldError(tz.input, err.message);
    else showError(alert, err);
    status.textContent = 'Not saved';
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    hideAlert(alert);
    clearFieldError(loiter);
    if (zones.drawing()) {
      zones.showError('Close the zone you are drawing (or cancel it) before saving.');
      return;
    }
    if (!schedule.check()) {
      status.textContent = 'Not saved';
      return;
    }
    const secs = Number(loiter.value);
    if (d.kind === 'doorbell' && !(Number.isInteger(secs) && secs >= 0 && secs <= 600)) {
      showFieldError(loiter, 'Enter a whole number of seconds from 0 to 600.');
      loiter.focus();
      return;
    }
    const sens = Number(soundSens.value);
    if (!(Number.isInteger(sens) && sens >= 1 && sens <= 100)) {
      showFieldError(soundSens, 'Enter a whole number from 1 to 100.');
      soundSens.focus();
      return;
    }
    const base = settingsOf(latest);
    if (!base) return;
    const body = {
      ...base,
      time_zone: tz.get(),
      motion: { ...base.motion, zones: zones.zones(), schedule: schedule.get() },
      sound_alarm: { enabled: soundOn.checked, sensitivity: sens },
    };
    if (d.kind === 'doorbell') body.loiter_secs = secs;
    busy(save, async () => {
      status.textContent = 'Saving…';
      try {
        const next = await devices.putSettings(d.uid, body);
        dirty = false;
        save.disabled = true;
        status.textContent = next.in_sync ? 'Saved' : 'Saved · waiting for the device';
        update(next);
        onSaved(next);
      } catch (err) {
        showServerError(err);
      }
    }).then(() => (save.disabled = !dirty));
  });

  update(d);
  loadPicture();
  return {
    node: h(
      'div',
      { class: 'card', testid: 'device-motion' },
      h('h2', { class: 'card-title' }, 'Motion zones & schedule'),
      alert,
      none,
      form,
    ),
    update,
    showAlert: (kind, text) => showAlert(alert, kind, text),
  };
}
