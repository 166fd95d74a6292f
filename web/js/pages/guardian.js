// pages/guardian.js — "#/guardian": a guardian consents for a child's account. The guardian
// enters the child's e-mail or phone number, their own, and the code they received, reads the
// privacy policy and accepts it on the child's behalf; the child can then log in.

import { auth, privacy } from '../api.js';
import { markdown } from '../markdown.js';
import { h, field, alertBox, showAlert, showError, onSubmit, normalizeIdentifier, authLayout } from '../ui.js';

export const title = 'Guardian consent';

export function render(ctx) {
  const alert = alertBox('guardian-alert');
  const child = field({ label: "The child's e-mail or phone number", testid: 'guardian-child', type: 'text', autocapitalize: 'none', required: true });
  const mine = field({ label: 'Your own e-mail or phone number', hint: 'Where your code was sent.', testid: 'guardian-self', type: 'text', autocapitalize: 'none', required: true });
  const code = field({ label: 'Your 6-digit code', testid: 'guardian-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true });
  let policy = null;
  const text = h('div', { class: 'policy-text', testid: 'guardian-policy-text' });
  const acceptId = 'guardian-accept';
  const accept = h('input', { type: 'checkbox', id: acceptId, class: 'check-input', testid: 'guardian-accept-policy' });
  const acceptLabel = h('label', { for: acceptId }, "I am the child's guardian, I have read the privacy policy and accept it for the child");
  privacy
    .policy()
    .then((p) => {
      policy = p;
      text.replaceChildren(markdown(p.text));
    })
    .catch((err) => showError(alert, err));
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'guardian-form' },
    alert,
    child.wrap,
    mine.wrap,
    code.wrap,
    h('div', { class: 'field consent-field' }, text, h('div', { class: 'check-row' }, accept, acceptLabel)),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'guardian-submit' }, 'Consent'),
  );
  onSubmit(form, alert, async () => {
    if (!policy || !accept.checked) {
      showAlert(alert, 'error', 'Read the privacy policy and tick the box to consent.');
      return;
    }
    await auth.guardianConsent(
      normalizeIdentifier(child.input.value),
      normalizeIdentifier(mine.input.value),
      code.input.value.trim(),
      policy.version,
    );
    showAlert(alert, 'success', 'Thank you. The child can now log in.');
    form.querySelector('button[type=submit]').disabled = true;
    setTimeout(() => ctx.isCurrent() && ctx.navigate('#/login'), 3000);
  });
  return authLayout(
    { title: 'Guardian consent', subtitle: "Consent for a child's Kankan account.", testid: 'page-guardian' },
    form,
    h('p', { class: 'auth-switch' }, h('a', { class: 'link', href: '#/login' }, 'Back to log in')),
  );
}
