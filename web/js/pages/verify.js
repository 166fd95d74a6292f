// pages/verify.js — "#/verify": enter the 6-digit code sent after registering. "Resend code"
// re-posts the registration (needs the password, kept in memory only) and honours retry_after_s.

import { auth } from '../api.js';
import { signup, setMe, nextRoute } from '../state.js';
import {
  h, field, passwordField, alertBox, showAlert, showError, hideAlert, onSubmit, busy, cooldown,
  normalizeIdentifier, authLayout,
} from '../ui.js';

export const title = 'Verify account';

/** A 6-digit one-time-code input (digits only). */
export function codeField(testid) {
  const code = field({
    label: '6-digit code',
    testid,
    name: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: 6,
    placeholder: '••••••',
    required: true,
  });
  code.input.classList.add('input-code');
  code.input.addEventListener('input', () => {
    const digits = code.input.value.replace(/\D/g, '').slice(0, 6);
    if (digits !== code.input.value) code.input.value = digits;
  });
  return code;
}

export function render(ctx) {
  const pending = signup.get();
  const alert = alertBox('verify-alert');

  const identifier = field({
    label: 'E-mail or phone number',
    testid: 'verify-identifier',
    name: 'identifier',
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    required: true,
  });
  const known = Boolean(pending && pending.identifier);
  if (known) identifier.input.value = pending.identifier;

  const code = codeField('verify-code');

  const resendPassword = passwordField({
    label: 'Your password',
    hint: 'Needed to send a new code.',
    testid: 'verify-resend-password',
    autocomplete: 'current-password',
  });
  resendPassword.wrap.hidden = true;

  const resend = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'verify-resend' }, 'Resend code');
  let stopCooldown = cooldown(resend, (pending && pending.resendAt) || 0, 'Resend code');
  ctx.onLeave(() => stopCooldown());

  const restartCooldown = (seconds) => {
    stopCooldown();
    const until = Date.now() + seconds * 1000;
    const current = signup.get();
    if (current) signup.set({ ...current, resendAt: until });
    stopCooldown = cooldown(resend, until, 'Resend code');
  };

  resend.addEventListener('click', () =>
    busy(resend, async () => {
      hideAlert(alert);
      const id = normalizeIdentifier(identifier.input.value);
      const pw = signup.get()?.password || resendPassword.input.value;
      if (!id) {
        identifier.wrap.hidden = false;
        showAlert(alert, 'error', 'Enter the e-mail or phone number you signed up with.');
        identifier.input.focus();
        return;
      }
      if (!pw) {
        resendPassword.wrap.hidden = false;
        showAlert(alert, 'info', 'Enter your password, then tap "Resend code" again.');
        resendPassword.input.focus();
        return;
      }
      try {
        const res = await auth.register(id, pw);
        signup.set({ identifier: id, password: pw, resendAt: 0 });
        showAlert(alert, 'success', `We sent a new code to ${id}.`);
        restartCooldown(Number(res && res.retry_after_s) || 60);
      } catch (err) {
        showError(alert, err);
        if (err.status === 429) restartCooldown(err.retryAfter || Number(err.body?.retry_after_s) || 60);
      }
    }).finally(() => {
      // busy() re-enables the button; the cooldown may need it disabled again.
      const until = signup.get()?.resendAt || 0;
      if (until > Date.now()) restartCooldown((until - Date.now()) / 1000);
    }),
  );

  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'verify-form' },
    alert,
    known
      ? h('p', { class: 'lead' }, 'Enter the code we sent to ', h('strong', { testid: 'verify-target' }, pending.identifier), '.')
      : identifier.wrap,
    code.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'verify-submit' }, 'Verify and continue'),
    h('div', { class: 'resend' }, h('span', { class: 'muted' }, "Didn't get a code?"), resend),
    resendPassword.wrap,
  );

  onSubmit(form, alert, async () => {
    const id = normalizeIdentifier(identifier.input.value);
    const digits = code.input.value.trim();
    if (!id) {
      showAlert(alert, 'error', 'Enter the e-mail or phone number you signed up with.');
      identifier.input.focus();
      return;
    }
    if (!/^\d{6}$/.test(digits)) {
      showAlert(alert, 'error', 'The code has 6 digits.');
      code.input.focus();
      return;
    }
    // The password chosen when registering binds the code to this registrant; the server
    // asks for it (password-required) when the address was registered more than once.
    const pw = signup.get()?.password || resendPassword.input.value || undefined;
    let res;
    try {
      res = await auth.verify(id, digits, pw);
    } catch (err) {
      if (err.body?.code === 'password-required') {
        resendPassword.wrap.hidden = false;
        showAlert(alert, 'info', 'Enter the password you chose when you registered, then verify again.');
        resendPassword.input.focus();
        return;
      }
      throw err;
    }
    signup.clear();
    setMe(res.account);
    ctx.navigate(nextRoute.afterLogin());
  });

  return authLayout(
    { title: 'Check your messages', subtitle: 'One last step to secure your account.', testid: 'page-verify' },
    form,
    h(
      'p',
      { class: 'auth-switch' },
      known ? h('a', { class: 'link', href: '#/register', testid: 'verify-change' }, 'Use a different e-mail or phone') : null,
      known ? ' · ' : null,
      h('a', { class: 'link', href: '#/login', testid: 'verify-login-link' }, 'Back to log in'),
    ),
  );
}
