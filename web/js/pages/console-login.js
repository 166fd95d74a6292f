// pages/console-login.js — "#/console/login": staff sign-in with user name, password and the
// code of their authenticator app. A staff member without a second factor gets the enrolment
// screen first: a QR code (and the secret to type), then a code confirms it.

import { h, field, passwordField, alertBox, onSubmit, showAlert } from '../ui.js';
import { staffRequest, setStaffToken } from '../console-api.js';

export const title = 'Console sign-in';

function signedIn(token, navigate) {
  setStaffToken(token);
  navigate('#/console/accounts');
}

function enrolment(data, navigate) {
  const alert = alertBox('console-enrol-alert');
  const code = field({ label: 'Code from your authenticator app', testid: 'console-enrol-code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: 6 });
  const form = h(
    'form',
    { class: 'stack', testid: 'console-enrol-form' },
    code.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'console-enrol-submit' }, 'Confirm and sign in'),
  );
  onSubmit(form, alert, async () => {
    const res = await staffRequest('POST', '/api/v1/admin/login/enrol', {
      json: { enrolment_token: data.enrolment_token, code: code.input.value.trim() },
    });
    signedIn(res.token, navigate);
  });
  // As an image (no markup inserted into the page).
  const src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(data.qr_svg)))}`;
  const qr = h('img', { class: 'console-qr', testid: 'console-enrol-qr', src, alt: 'QR code to scan with your authenticator app', width: 240, height: 240 });
  return h(
    'section',
    { class: 'console-card', testid: 'console-enrol' },
    h('h1', null, 'Set up your second factor'),
    h('p', null, 'Staff sign in with a code from an authenticator app. Scan this code with it (or type the key), then enter the code it shows.'),
    qr,
    h('p', { class: 'console-secret' }, 'Key: ', h('code', { testid: 'console-enrol-secret' }, data.secret)),
    alert,
    form,
  );
}

export function render({ navigate }) {
  const root = h('div', { class: 'console-login', testid: 'page-console-login' });
  const alert = alertBox('console-login-alert');
  const user = field({ label: 'User name', testid: 'console-username', autocomplete: 'username', required: true });
  const pass = passwordField({ label: 'Password', testid: 'console-password', required: true });
  const code = field({ label: 'Code from your authenticator app', testid: 'console-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, hint: 'Leave empty on your first sign-in: you set it up next.' });
  const form = h(
    'form',
    { class: 'stack', testid: 'console-login-form' },
    user.wrap,
    pass.wrap,
    code.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'console-login-submit' }, 'Sign in'),
  );
  onSubmit(form, alert, async () => {
    const json = { username: user.input.value, password: pass.input.value };
    if (code.input.value.trim()) json.code = code.input.value.trim();
    try {
      const res = await staffRequest('POST', '/api/v1/admin/login', { json });
      if (res.enrolment_token) root.replaceChildren(enrolment(res, navigate));
      else signedIn(res.token, navigate);
    } catch (err) {
      if (err.code === 'second-factor-required') {
        showAlert(alert, 'error', 'Enter the code from your authenticator app.');
        code.input.focus();
        return;
      }
      throw err;
    }
  });
  root.append(
    h(
      'section',
      { class: 'console-card' },
      h('h1', null, 'Kankan console'),
      h('p', { class: 'muted' }, 'For the staff of this service.'),
      alert,
      form,
    ),
  );
  return root;
}
