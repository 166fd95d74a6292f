// pages/reset.js — "#/reset": forgotten password. Step 1 requests a code for an e-mail/phone;
// step 2 takes the code and a new password, then sends the user to log in.

import { auth } from '../api.js';
import { reset } from '../state.js';
import {
  h, field, passwordField, hiddenUsername, alertBox, showAlert, showError, hideAlert, onSubmit, busy, cooldown,
  flash, normalizeIdentifier, authLayout,
} from '../ui.js';
import { codeField } from './verify.js';
import { MIN_PASSWORD } from './register.js';

export const title = 'Reset password';

export function render(ctx) {
  const root = h('div', { class: 'reset-steps' });
  const page = authLayout(
    { title: 'Reset your password', subtitle: "We'll send you a code to choose a new one.", testid: 'page-reset' },
    root,
    h('p', { class: 'auth-switch' }, h('a', { class: 'link', href: '#/login', testid: 'reset-login-link' }, 'Back to log in')),
  );

  let stopCooldown = () => {};
  ctx.onLeave(() => stopCooldown());

  const showRequest = (prefill = '') => {
    stopCooldown();
    root.replaceChildren(requestStep(prefill, showCode));
  };
  const showCode = (state) => {
    stopCooldown();
    const step = codeStep(state, ctx, (stop) => {
      stopCooldown();
      stopCooldown = stop;
    }, () => {
      reset.clear();
      showRequest(state.identifier);
    });
    root.replaceChildren(step);
  };

  const saved = reset.get();
  if (saved && saved.identifier) showCode(saved);
  else showRequest(ctx.query.get('identifier') || '');
  return page;
}

function requestStep(prefill, next) {
  const alert = alertBox('reset-alert');
  const identifier = field({
    label: 'E-mail or phone number',
    testid: 'reset-identifier',
    name: 'identifier',
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'you@example.com or +14155550123',
    required: true,
  });
  identifier.input.value = prefill;

  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'reset-request-form' },
    alert,
    identifier.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'reset-request' }, 'Send code'),
  );
  onSubmit(form, alert, async () => {
    const id = normalizeIdentifier(identifier.input.value);
    if (!id) {
      showAlert(alert, 'error', 'Enter the e-mail or phone number of your account.');
      identifier.input.focus();
      return;
    }
    try {
      const res = await auth.requestReset(id);
      const state = { identifier: id, resendAt: Date.now() + (Number(res && res.retry_after_s) || 60) * 1000 };
      reset.set(state);
      next(state);
    } catch (err) {
      if (err.status === 429) showAlert(alert, 'warn', err.message);
      else showError(alert, err);
    }
  });
  return form;
}

function codeStep(state, ctx, setStop, restart) {
  const alert = alertBox('reset-alert');
  const code = codeField('reset-code');
  const password = passwordField({
    label: 'New password',
    hint: `At least ${MIN_PASSWORD} characters. Common passwords are not allowed.`,
    testid: 'reset-new-password',
    autocomplete: 'new-password',
    minlength: MIN_PASSWORD,
    required: true,
  });

  const resend = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'reset-resend' }, 'Resend code');
  let resendAt = state.resendAt || 0;
  setStop(cooldown(resend, resendAt, 'Resend code'));
  const restartCooldown = (seconds) => {
    resendAt = Date.now() + seconds * 1000;
    reset.set({ identifier: state.identifier, resendAt });
    setStop(cooldown(resend, resendAt, 'Resend code'));
  };
  resend.addEventListener('click', () =>
    busy(resend, async () => {
      hideAlert(alert);
      try {
        const res = await auth.requestReset(state.identifier);
        showAlert(alert, 'success', `We sent a new code to ${state.identifier}.`);
        resendAt = Date.now() + (Number(res && res.retry_after_s) || 60) * 1000;
      } catch (err) {
        showError(alert, err);
        if (err.status === 429) resendAt = Date.now() + (err.retryAfter || 60) * 1000;
      }
    }).finally(() => restartCooldown(Math.max(0, (resendAt - Date.now()) / 1000))),
  );

  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'reset-confirm-form' },
    alert,
    hiddenUsername(state.identifier),
    h(
      'p',
      { class: 'lead' },
      'If an account exists for ',
      h('strong', { testid: 'reset-target' }, state.identifier),
      ", you'll get a code shortly. Enter it below with your new password.",
    ),
    code.wrap,
    password.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'reset-confirm' }, 'Change password'),
    h('div', { class: 'resend' }, h('span', { class: 'muted' }, "Didn't get a code?"), resend),
    h('button', { type: 'button', class: 'btn btn-ghost btn-block', testid: 'reset-restart', onclick: restart }, 'Use a different account'),
  );

  onSubmit(form, alert, async () => {
    const digits = code.input.value.trim();
    if (!/^\d{6}$/.test(digits)) {
      showAlert(alert, 'error', 'The code has 6 digits.');
      code.input.focus();
      return;
    }
    if (password.input.value.length < MIN_PASSWORD) {
      showAlert(alert, 'error', `Your new password needs at least ${MIN_PASSWORD} characters.`);
      password.input.focus();
      return;
    }
    await auth.confirmReset(state.identifier, digits, password.input.value);
    reset.clear();
    flash.set('success', 'Password changed, please log in');
    ctx.navigate(`#/login?identifier=${encodeURIComponent(state.identifier)}`);
  });
  return form;
}
