// pages/device-settings.js — the Settings card of a device's page. Each change is sent at once
// (a short debounce groups slider moves) as the full Settings object; the card then says
// "Waiting for the device…" until the device reports it runs them, then "Applied".

import { devices } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showError, hideAlert } from '../ui.js';
import { can } from '../sharing-ui.js';
import { aiField } from './device-ai.js';

const SAVE_DELAY_MS = 400;

/** What each recording mode means, shown under the choice. */
const MODE_HINTS = {
  continuous: 'Everything the camera records is uploaded, encrypted, and kept for the plan\'s days.',
  events: 'Only the footage around each event (a few seconds before it, until it ends) is kept in the cloud; the rest is deleted.',
  'card-only': 'Nothing of the video is uploaded: it stays on the camera\'s memory card, and the cloud keeps none of it (not even after an outage). Live view still works when you open it.',
};

let seq = 0;

function toggle(key, label, hint) {
  const id = `set-${key}-${++seq}`;
  const input = h('input', { type: 'checkbox', class: 'switch-input', id, role: 'switch', testid: `set-${key}` });
  const wrap = h(
    'div',
    { class: 'set-row' },
    h('label', { class: 'set-text', for: id }, h('span', { class: 'set-label' }, label), hint ? h('span', { class: 'set-hint' }, hint) : null),
    h('span', { class: 'switch' }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
  );
  return { wrap, input, get: () => input.checked, set: (v) => (input.checked = !!v) };
}

function slider(key, label, min, max, unit = '') {
  const id = `set-${key}-${++seq}`;
  const output = h('output', { class: 'set-value', for: id, testid: `set-${key}-value` });
  const input = h('input', { type: 'range', class: 'range', id, min, max, step: 1, testid: `set-${key}` });
  const show = () => (output.textContent = `${input.value}${unit}`);
  input.addEventListener('input', show);
  const wrap = h(
    'div',
    { class: 'set-row set-row-stack' },
    h('div', { class: 'set-line' }, h('label', { class: 'set-label', for: id }, label), output),
    input,
  );
  return {
    wrap,
    input,
    get: () => Number(input.value),
    set: (v) => {
      input.value = String(v);
      show();
    },
  };
}

/** A segmented control (radio buttons). `options` is [[value, label], …]. */
function segmented(key, label, options) {
  const name = `set-${key}-${++seq}`;
  const radios = options.map(([value, text]) => {
    const input = h('input', { type: 'radio', name, value, class: 'seg-input', testid: `set-${key}-${value}` });
    return { value, input, node: h('label', { class: 'seg-option' }, input, h('span', null, text)) };
  });
  const wrap = h('fieldset', { class: 'set-row set-row-stack seg-field', testid: `set-${key}` }, h('legend', { class: 'set-label' }, label), h('div', { class: 'seg' }, radios.map((r) => r.node)));
  return {
    wrap,
    input: wrap,
    get: () => radios.find((r) => r.input.checked)?.value,
    set: (v) => radios.forEach((r) => (r.input.checked = r.value === v)),
  };
}

function select(key, label, options) {
  const id = `set-${key}-${++seq}`;
  const input = h('select', { class: 'input select', id, testid: `set-${key}` }, options.map(([value, text]) => h('option', { value }, text)));
  const wrap = h('div', { class: 'set-row set-row-stack' }, h('label', { class: 'set-label', for: id }, label), input);
  return { wrap, input, get: () => input.value, set: (v) => (input.value = v) };
}

/**
 * The Settings card for device `d`. Returns `{ node, update(d) }`; `update` takes a fresh
 * DeviceInfo (from polling) and repaints unless a change of the user's is still being sent.
 * `onSaved(d)` receives the DeviceInfo the server answered a change with.
 */
export function settingsCard(d, { onSaved }) {
  const alert = alertBox('device-settings-alert');
  const status = h('span', { class: 'badge sync', testid: 'device-settings-status', role: 'status' });
  const waitingHint = h('p', { class: 'hint', testid: 'device-settings-offline' }, 'The device is offline: it applies them when it is back.');
  const noSettings = h('p', { class: 'muted small', testid: 'device-settings-none' }, 'Settings appear here once the device has connected and reported in.');

  const f = {
    indicator_light: toggle('indicator-light', 'Status light', 'The small light on the front'),
    sd_recording: toggle('sd-recording', 'Record to SD card', 'Keep video on the memory card'),
    white_light: toggle('white-light', 'White light', 'Colour night vision'),
    motion_enabled: toggle('motion-enabled', 'Motion detection', 'Alert me when something moves'),
    sensitivity: slider('motion-sensitivity', 'Motion sensitivity', 1, 100),
    person_detection: toggle('person-detection', 'Person detection', 'The server looks for people while there is motion, and marks them on the picture'),
    alert_on: segmented('alert-on', 'Alert me', [['any', 'On any motion'], ['person', 'Only when a person is seen']]),
    familiar_faces: toggle('familiar-faces', 'Familiar faces', "Recognise the faces of people this camera sees (needs the owner's face recognition consent; see Me → Faces)"),
    stranger_alerts: toggle('stranger-alerts', 'Stranger alerts', 'A face nobody named alerts as "Stranger"'),
    video_quality: segmented('video-quality', 'Video quality', [['auto', 'Auto'], ['sd', 'SD'], ['hd', 'HD'], ['full-hd', 'Full HD']]),
    working_mode: select('working-mode', 'Working mode', [['continuous', 'Continuous (always on)'], ['power-saving', 'Power saving (wakes on motion)'], ['performance', 'Performance (fastest response)']]),
    call_mode: segmented('call-mode', 'When someone rings', [['ring', 'Ring'], ['message', 'Message'], ['off', 'Off']]),
    volume: slider('volume', 'Speaker volume', 0, 100, '%'),
    picture: select('picture', 'Picture', [['normal', 'Normal'], ['flip', 'Flipped (upside down)'], ['mirror', 'Mirrored'], ['rotate180', 'Rotated 180°']]),
    auto_update: toggle('auto-update', 'Automatic updates', 'Install new firmware by itself when it is released (on by default)'),
    recording_mode: segmented('recording-mode', 'Recording', [['continuous', 'Cloud, continuous'], ['events', 'Cloud, events only'], ['card-only', 'Memory card only']]),
  };
  // Whether the video is kept at all is the owner's choice; so are AI descriptions.
  const owner = can(d, 'manage-recordings') && d.role !== 'member';
  f.ai_descriptions = aiField(toggle, { owner });
  const modeHint = h('p', { class: 'hint', testid: 'set-recording-mode-hint' });
  f.recording_mode.wrap.append(modeHint);
  if (!owner) {
    f.recording_mode.wrap.disabled = true;
    f.recording_mode.wrap.append(h('p', { class: 'hint' }, 'Only the owner can change how the camera records.'));
  }
  const showModeHint = () => (modeHint.textContent = MODE_HINTS[f.recording_mode.get()] || MODE_HINTS.continuous);
  // Call mode is a doorbell setting; cameras keep whatever value they report.
  f.call_mode.wrap.hidden = d.kind !== 'doorbell';

  const form = h(
    'form',
    { class: 'settings', testid: 'device-settings-form', novalidate: true },
    Object.values(f).map((x) => x.wrap),
  );
  form.addEventListener('submit', (event) => event.preventDefault());

  let base = null; // the Settings object the form edits (sent whole)
  let latest = d;
  let timer = null;
  let saving = false;
  let again = false;
  let editing = false; // a slider is being dragged (input events, no change yet)

  const fill = (s) => {
    f.indicator_light.set(s.indicator_light);
    f.sd_recording.set(s.sd_recording);
    f.white_light.set(s.white_light);
    f.motion_enabled.set(s.motion.enabled);
    f.sensitivity.set(s.motion.sensitivity);
    f.sensitivity.input.disabled = !s.motion.enabled;
    f.person_detection.set(!!s.person_detection);
    f.alert_on.set(s.alert_on || 'any');
    f.alert_on.wrap.disabled = !s.person_detection;
    f.familiar_faces.set(!!s.familiar_faces);
    f.stranger_alerts.set(!!s.stranger_alerts);
    f.video_quality.set(s.video_quality);
    f.working_mode.set(s.working_mode);
    f.call_mode.set(s.call_mode);
    f.volume.set(s.volume);
    f.picture.set(s.picture);
    f.recording_mode.set(s.recording_mode || 'continuous');
    f.ai_descriptions.set(!!s.ai_descriptions);
    f.auto_update.set(s.auto_update !== false);
    showModeHint();
  };
  const read = () => ({
    ...base,
    indicator_light: f.indicator_light.get(),
    sd_recording: f.sd_recording.get(),
    white_light: f.white_light.get(),
    // Zones and schedule are edited in the Motion card (device-motion.js): keep them.
    motion: { ...base.motion, enabled: f.motion_enabled.get(), sensitivity: f.sensitivity.get() },
    video_quality: f.video_quality.get() || base.video_quality,
    working_mode: f.working_mode.get(),
    call_mode: f.call_mode.get() || base.call_mode,
    volume: f.volume.get(),
    picture: f.picture.get(),
    recording_mode: (owner && f.recording_mode.get()) || base.recording_mode || 'continuous',
    ai_descriptions: owner ? f.ai_descriptions.get() : !!base.ai_descriptions,
    person_detection: f.person_detection.get(),
    // Alerting only on a person needs detection on.
    alert_on: f.person_detection.get() ? f.alert_on.get() || 'any' : 'any',
    familiar_faces: f.familiar_faces.get(),
    stranger_alerts: f.stranger_alerts.get(),
    auto_update: f.auto_update.get(),
  });

  const paintStatus = (state) => {
    status.dataset.state = state;
    const [cls, ic, text] = {
      saving: ['badge-muted', null, 'Saving…'],
      pending: ['badge-warn', null, 'Waiting for the device…'],
      applied: ['badge-success', 'check', 'Applied'],
      error: ['badge-danger', 'alert', 'Not saved'],
    }[state];
    status.className = `badge sync ${cls}`;
    status.replaceChildren(ic ? icon(ic, 16) : h('span', { class: 'spinner spinner-sm', 'aria-hidden': 'true' }), text);
    waitingHint.hidden = state !== 'pending' || latest.online;
  };

  const busyNow = () => editing || saving || timer != null;

  const update = (next) => {
    latest = next;
    const s = next.desired || next.reported?.settings || null;
    noSettings.hidden = !!s;
    form.hidden = !s;
    status.hidden = !s;
    if (!s) {
      waitingHint.hidden = true;
      return;
    }
    if (busyNow()) return;
    base = structuredClone(s);
    fill(base);
    paintStatus(next.in_sync ? 'applied' : 'pending');
  };

  const save = async () => {
    timer = null;
    if (saving) {
      again = true;
      return;
    }
    saving = true;
    const body = read();
    try {
      const next = await devices.putSettings(d.uid, body);
      hideAlert(alert);
      latest = next;
      onSaved(next);
    } catch (err) {
      showError(alert, err);
      paintStatus('error');
      again = false;
    } finally {
      saving = false;
    }
    if (again) {
      again = false;
      save();
    } else if (status.dataset.state !== 'error') {
      update(latest);
    } else {
      // Show what the device is really set to after a refused change.
      setTimeout(() => !busyNow() && update(latest), 2500);
    }
  };

  const changed = () => {
    editing = false;
    f.sensitivity.input.disabled = !f.motion_enabled.get();
    f.alert_on.wrap.disabled = !f.person_detection.get();
    showModeHint();
    base = read();
    paintStatus('saving');
    clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
  };
  form.addEventListener('input', (event) => (editing = event.target.type === 'range'));
  // Released without a change of value: no `change` event comes.
  for (const ev of ['pointerup', 'focusout']) form.addEventListener(ev, () => (editing = false));
  form.addEventListener('change', changed);

  update(d);
  return {
    node: h(
      'div',
      { class: 'card', testid: 'device-settings' },
      h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Settings'), status),
      alert,
      noSettings,
      form,
      waitingHint,
    ),
    update,
  };
}
