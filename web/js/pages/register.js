// pages/register.js — "#/register": create an account with e-mail or phone + password, after
// reading and accepting the operator's privacy policy (shown in the page, rendered as text); a
// registrant under the operator's child age names a guardian, who consents with a code of their
// own. On success the server sends a 6-digit code and the user continues on "#/verify".

import { auth, privacy } from '../api.js';
import { markdown } from '../markdown.js';
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

  // The policy in force: its version is what the registrant accepts.
  let policy = null;
  let childAge = 14;
  const policyBody = h('div', { class: 'policy-text', testid: 'register-policy-text', hidden: true });
  const policyToggle = h(
    'button',
    { type: 'button', class: 'btn btn-link', testid: 'register-policy-toggle', 'aria-expanded': 'false' },
    'Read the privacy policy',
  );
  policyToggle.addEventListener('click', () => {
    policyBody.hidden = !policyBody.hidden;
    policyToggle.setAttribute('aria-expanded', String(!policyBody.hidden));
    policyToggle.textContent = policyBody.hidden ? 'Read the privacy policy' : 'Hide the privacy policy';
  });
  const acceptId = 'register-accept';
  const accept = h('input', { type: 'checkbox', id: acceptId, class: 'check-input', testid: 'register-accept-policy', required: true });
  const acceptLabel = h('label', { for: acceptId, testid: 'register-accept-label' }, 'I have read and accept the privacy policy');
  const childId = 'register-under-age';
  const underAge = h('input', { type: 'checkbox', id: childId, class: 'check-input', testid: 'register-under-age' });
  const childLabel = h('label', { for: childId }, 'I am under 14');
  const guardian = field({
    label: "Your parent's or guardian's e-mail or phone number",
    hint: 'They get a code and consent for you; your account works once they have.',
    testid: 'register-guardian',
    name: 'guardian',
    type: 'text',
    autocapitalize: 'none',
    spellcheck: 'false',
  });
  guardian.wrap.hidden = true;
  underAge.addEventListener('change', () => (guardian.wrap.hidden = !underAge.checked));
  Promise.all([privacy.policy(), privacy.about()])
    .then(([p, about]) => {
      policy = p;
      childAge = about.child_age || childAge;
      childLabel.textContent = `I am under ${childAge}`;
      acceptLabel.textContent = `I have read and accept the privacy policy (version ${p.version})`;
      policyBody.replaceChildren(markdown(p.text));
    })
    .catch((err) => showError(alert, err));

  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'register-form' },
    alert,
    identifier.wrap,
    password.wrap,
    h('div', { class: 'field consent-field' }, policyToggle, policyBody, h('div', { class: 'check-row' }, accept, acceptLabel)),
    h('div', { class: 'field' }, h('div', { class: 'check-row' }, underAge, childLabel), guardian.wrap),
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
    if (!policy || !accept.checked) {
      showAlert(alert, 'error', 'Read the privacy policy and tick "I accept" to create your account.');
      accept.focus();
      return;
    }
    const guardianId = normalizeIdentifier(guardian.input.value);
    if (underAge.checked && !guardianId) {
      showAlert(alert, 'error', `Under ${childAge}, enter your parent's or guardian's e-mail or phone number.`);
      guardian.input.focus();
      return;
    }
    try {
      const extra = { accept_policy: policy.version, under_age: underAge.checked };
      if (underAge.checked) extra.guardian = guardianId;
      const res = await auth.register(id, pw, extra);
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
    h(
      'p',
      { class: 'auth-switch' },
      'A child named you as guardian? ',
      h('a', { class: 'link', href: '#/guardian', testid: 'register-guardian-link' }, 'Guardian consent'),
    ),
  );
}
