// pages/account-security.js — "#/me/account": Me → Account and Security. Two-step
// verification (pages/two-step.js), deletes the login
// history, and cancels the account: the password entered again, what happens explained (10
// working days, then everything is deleted; "Continue login" in between keeps the account).

import { account } from '../api.js';
import { getMe, setMe } from '../state.js';
import { icon } from '../icons.js';
import { passkeysCard } from '../passkeys.js';
import { twoStepCard } from './two-step.js';
import {
  h, passwordField, hiddenUsername, alertBox, showAlert, onSubmit, busy, flash, formatDateTime,
  pageHeader, confirmDialog,
} from '../ui.js';

export const title = 'Account and Security';

export function render(ctx) {
  return h(
    'section',
    { class: 'page', testid: 'page-account-security' },
    pageHeader('Account and Security', { back: { href: '#/me', label: 'Back to Me', testid: 'account-back' } }),
    passkeysCard(getMe()),
    twoStepCard(),
    historyCard(),
    cancelCard(ctx),
  );
}

function historyCard() {
  const alert = alertBox('account-history-alert');
  const button = h(
    'button',
    { type: 'button', class: 'btn btn-secondary', testid: 'account-delete-logins' },
    icon('trash', 18),
    'Delete my login history',
  );
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        const done = await account.deleteLogins();
        const n = done.deleted;
        showAlert(alert, 'success', `Deleted ${n} login ${n === 1 ? 'entry' : 'entries'}. Your sessions stay signed in.`);
      } catch (err) {
        showAlert(alert, 'error', err.message);
      }
    }),
  );
  return h(
    'div',
    { class: 'card' },
    h('h2', { class: 'card-title' }, 'Login history'),
    h('p', { class: 'muted' }, 'Kankan keeps when and from where your account was logged in (180 days at most). You can delete all of it now.'),
    alert,
    button,
  );
}

function cancelCard(ctx) {
  const alert = alertBox('account-cancel-alert');
  const password = passwordField({
    label: 'Your password',
    testid: 'account-cancel-password',
    autocomplete: 'current-password',
    required: true,
  });
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'account-cancel-form' },
    alert,
    hiddenUsername(getMe()?.identifier),
    password.wrap,
    h('button', { type: 'submit', class: 'btn btn-danger-outline btn-block', testid: 'account-cancel-submit' }, 'Cancel my account'),
  );
  onSubmit(form, alert, async () => {
    if (!password.input.value) {
      showAlert(alert, 'error', 'Enter your password to cancel your account.');
      password.input.focus();
      return;
    }
    const sure = await confirmDialog({
      title: 'Cancel your account?',
      text: 'You will be signed out everywhere. Unless you log in and choose "Continue login" within 10 working days, your account and everything in it will be deleted for good.',
      confirmLabel: 'Cancel my account',
      cancelLabel: 'Keep it',
      danger: true,
      testid: 'account-cancel-confirm',
    });
    if (!sure) return;
    const res = await account.cancel(password.input.value);
    const when = formatDateTime(new Date(res.ends_at_ms).toISOString());
    setMe(null);
    flash.set('info', `Your account is being cancelled and will be deleted on ${when}. To keep it, log in before then and choose "Continue login".`);
    ctx.navigate('#/login');
  });
  return h(
    'div',
    { class: 'card', testid: 'account-cancel-card' },
    h('h2', { class: 'card-title' }, 'Cancel account'),
    h('p', {}, 'Cancelling is for good. Your account is suspended at once: you are signed out everywhere, your cameras stop recording, and the people you share them with lose access.'),
    h('p', {}, 'After 10 working days (weekends and holidays do not count) everything is deleted: your cameras are unbound, your recordings, events, Album, settings, login history, nickname, photo and contact details are destroyed. We send you a receipt of what was deleted.'),
    h('p', { class: 'muted' }, 'Changed your mind? Log in before then and choose "Continue login": your account comes back as it was.'),
    form,
  );
}
