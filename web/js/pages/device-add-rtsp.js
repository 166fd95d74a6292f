// pages/device-add-rtsp.js — "#/devices/add-rtsp": adding an ordinary IP camera by its RTSP
// address and login. The server probes the camera before adding it (up to about 5 s), so the
// button stays busy with a "Checking the camera…" line meanwhile; a refusal is shown next to the
// field it is about (the address, the login) or above the form; success opens the new device.

import { devices } from '../api.js';
import { icon } from '../icons.js';
import {
  h, field, passwordField, alertBox, showAlert, showFieldError, clearFieldError, onSubmit, toast, pageHeader,
} from '../ui.js';

export const title = 'Add an RTSP camera';

const NAME_MAX = 40;

/** Headings for the refusals shown above the form (the server's message says the details). */
const FORM_TITLES = {
  'camera-unreachable': 'The camera did not answer',
  'camera-bad-stream': 'That is not an RTSP camera stream',
  'camera-unsupported-codec': 'The camera offers no H.264 video',
};

/**
 * Which field an error from `POST /cameras/rtsp` is about: 'url', 'name', 'username',
 * 'password', or null for the form as a whole.
 */
export function errorField(err) {
  switch (err.code) {
    case 'invalid-camera-url':
      return 'url';
    case 'camera-auth-failed':
      return 'password';
    case 'invalid-device-input': {
      const text = String(err.message || '').toLowerCase();
      if (text.includes('username')) return 'username';
      if (text.includes('password')) return 'password';
      return 'name';
    }
    default:
      return null;
  }
}

export function render(ctx) {
  const alert = alertBox('rtsp-alert');
  const name = field({
    label: 'Name',
    hint: 'How the camera is called in Kankan, e.g. Porch or Garage.',
    testid: 'rtsp-name',
    name: 'camera-name',
    type: 'text',
    autocomplete: 'off',
    maxlength: NAME_MAX,
    required: true,
  });
  const url = field({
    label: 'RTSP URL',
    hint: "The camera's stream address, from its manual or app. Port 554 when none is given.",
    testid: 'rtsp-url',
    name: 'camera-url',
    type: 'url',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'rtsp://192.168.1.20:554/stream1',
    maxlength: 1024,
    required: true,
  });
  const username = field({
    label: 'Username',
    hint: 'Leave empty if the camera needs no login.',
    testid: 'rtsp-username',
    name: 'camera-username',
    type: 'text',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    maxlength: 128,
  });
  const password = passwordField({
    label: 'Password',
    testid: 'rtsp-password',
    name: 'camera-password',
    autocomplete: 'off',
    maxlength: 128,
  });
  const inputs = { name: name.input, url: url.input, username: username.input, password: password.input };
  for (const input of Object.values(inputs)) input.addEventListener('input', () => clearFieldError(input));

  const checking = h(
    'p',
    { class: 'waiting', testid: 'rtsp-checking', role: 'status', hidden: true },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    'Checking the camera… this takes a few seconds.',
  );
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'rtsp-submit' }, icon('plus', 20), 'Add camera');
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'rtsp-form' },
    alert,
    name.wrap,
    url.wrap,
    username.wrap,
    password.wrap,
    submit,
    checking,
  );

  /** Shows `message` at `key`'s field and moves the focus there. */
  const fieldProblem = (key, message) => {
    showFieldError(inputs[key], message);
    inputs[key].focus();
  };

  onSubmit(form, alert, async () => {
    for (const input of Object.values(inputs)) clearFieldError(input);
    const entered = {
      name: name.input.value.trim(),
      url: url.input.value.trim(),
      username: username.input.value.trim(),
      password: password.input.value,
    };
    if (!entered.name) return fieldProblem('name', 'Give the camera a name.');
    if (!entered.url) return fieldProblem('url', "Enter the camera's RTSP address.");

    let device;
    checking.hidden = false;
    form.setAttribute('aria-busy', 'true');
    try {
      device = await devices.addRtspCamera(entered);
    } catch (err) {
      if (err.status === 401) return;
      const key = errorField(err);
      if (key) fieldProblem(key, err.message);
      else showAlert(alert, 'error', err.message, { title: FORM_TITLES[err.code] });
      return;
    } finally {
      checking.hidden = true;
      form.removeAttribute('aria-busy');
    }
    toast('Camera added', 'success');
    if (ctx.isCurrent()) ctx.navigate(`#/devices/${encodeURIComponent(device.uid)}`, { replace: true });
  });

  return h(
    'section',
    { class: 'page', testid: 'page-device-add-rtsp' },
    pageHeader('Add an RTSP camera', { back: { href: '#/devices/add', label: 'Back to Add device', testid: 'rtsp-back' } }),
    h(
      'div',
      { class: 'card' },
      h('h2', { class: 'card-title' }, 'Your IP camera'),
      h('p', { class: 'muted small card-lead', testid: 'rtsp-help' }, 'The camera must offer H.264 video over RTSP; its address, username and password are stored encrypted.'),
      form,
    ),
  );
}
