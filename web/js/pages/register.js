// pages/register.js — "#/register": create an account with e-mail or phone + password; on success
// the server sends a 6-digit code and the user continues on "#/verify".

import { auth } from '../api.js';
import { signup } from '../state.js';
import {
  h, field, passwordField, alertBox, showAlert, showError, onSubmit, normalizeIdentifier,
  authLayout,
} from '../ui.js';

export const title = 'Create account';

export const MIN_PASSWORD = 10;

export function render(ctx) {
  const alert = alertBox('register-alert');

  const identifier = field({
    label: 'E-mail or phone number',
    hint: 'Phone numbers in international format, e.g. +14155550123.',
    testid: 'register-identifier',
    name: 'identifier',
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'you@example.com',
    required: true,
  });
  identifier.input.value = signup.get()?.identifier || '';

  const password = passwordField({
    label: 'Password',
    hint: `At least ${MIN_PASSWORD} characters. Common passwords are not allowed.`,
    testid: 'register-password',
    name: 'password',
    autocomplete: 'new-password',
    minlength: MIN_PASSWORD,
    required: true,
  });

  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'register-form' },
    alert,
    identifier.wrap,
    password.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'register-submit' }, 'Create account'),
    h('p', { class: 'fine-print' }, "We'll send a 6-digit code to confirm it's really you. Your data stays on this server."),
  );

  onSubmit(form, alert, async () => {
    const id = normalizeIdentifier(identifier.input.value);
    const pw = password.input.value;
    if (!id) {
      showAlert(alert, 'error', 'Enter your e-mail address or phone number.');
      identifier.input.focus();
      return;
    }
    if (pw.length < MIN_PASSWORD) {
      showAlert(alert, 'error', `Your password needs at least ${MIN_PASSWORD} characters.`);
      password.input.focus();
      return;
    }
    try {
      const res = await auth.register(id, pw);
      const wait = Number(res && res.retry_after_s) || 60;
      signup.set({ identifier: id, password: pw, resendAt: Date.now() + wait * 1000 });
      ctx.navigate('#/verify');
    } catch (err) {
      if (err.status === 429) showAlert(alert, 'warn', err.message);
      else showError(alert, err);
    }
  });

  return authLayout(
    { title: 'Create your account', subtitle: 'One account for all your cameras.', testid: 'page-register' },
    form,
    h(
      'p',
      { class: 'auth-switch' },
      'Already have an account? ',
      h('a', { class: 'link', href: '#/login', testid: 'register-login-link' }, 'Log in'),
    ),
  );
}
