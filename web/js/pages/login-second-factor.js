// pages/login-second-factor.js — the login's second step, shown in place of the login form
// when the password login answered a ticket: a code of the authenticator app, or "Use a
// recovery code"; "Remember this device" skips the step on this browser for 30 days. Other
// methods (passkeys) add their buttons through `secondStepHooks`.

import { secondFactor, secondStepHooks } from '../second-factor.js';
import { h, field, alertBox, showAlert, onSubmit } from '../ui.js';

/**
 * Replaces `form` with the second step for `challenge` (`{ticket, methods}`); `done(res)` gets
 * the login's answer once a factor is accepted.
 */
export function showSecondStep(form, challenge, done) {
  const alert = alertBox('login-2fa-alert');
  let recovery = !challenge.methods.includes('totp');
  const code = field({
    label: 'Code from your authenticator app',
    testid: 'login-2fa-code',
    name: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    required: true,
  });
  const label = code.wrap.querySelector('label');
  const remember = h('input', { type: 'checkbox', id: 'login-2fa-remember', testid: 'login-2fa-remember' });
  const toggle = h('button', { type: 'button', class: 'link', testid: 'login-2fa-use-recovery' });
  const relabel = () => {
    label.textContent = recovery ? 'Recovery code' : 'Code from your authenticator app';
    code.input.setAttribute('inputmode', recovery ? 'text' : 'numeric');
    toggle.textContent = recovery ? 'Use the authenticator app' : 'Use a recovery code';
    toggle.hidden = !(challenge.methods.includes('totp') && challenge.methods.includes('recovery-code'));
  };
  toggle.addEventListener('click', () => {
    recovery = !recovery;
    relabel();
    code.input.value = '';
    code.input.focus();
  });
  relabel();
  const finish = async (proof) => done(await secondFactor.finish(challenge.ticket, proof, remember.checked));
  const extra = secondStepHooks.map((hook) => hook({ methods: challenge.methods, ticket: challenge.ticket, finish, alert })).filter(Boolean);
  const step = h(
    'form',
    { class: 'form', novalidate: true, testid: 'login-2fa-form' },
    h('p', { class: 'muted' }, 'This account uses two-step verification. Enter a code to finish signing in.'),
    alert,
    code.wrap,
    h('label', { class: 'checkbox', for: 'login-2fa-remember' }, remember, ' Remember this device for 30 days'),
    h('div', { class: 'form-row-end' }, toggle),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'login-2fa-submit' }, 'Verify'),
    extra,
  );
  onSubmit(step, alert, async () => {
    const value = code.input.value.trim();
    if (!value) {
      showAlert(alert, 'error', recovery ? 'Enter one of your recovery codes.' : 'Enter the 6-digit code your app shows.');
      return;
    }
    try {
      await finish(recovery ? { recovery_code: value } : { totp: value });
    } catch (err) {
      const message =
        err.code === 'second-factor-invalid'
          ? 'That code is wrong or was used already. If this keeps happening, log in again.'
          : err.message;
      showAlert(alert, err.code === 'too-many-requests' ? 'warn' : 'error', message);
    }
  });
  form.replaceWith(step);
  code.input.focus();
}
