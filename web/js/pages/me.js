// pages/me.js — "#/me": the account page. Shows the account, edits the nickname, uploads an avatar
// (with preview), links to active sessions, notification settings, Privacy, Announcements and
// About, changes the password and logs out.

import { account, auth } from '../api.js';
import { getMe, setMe } from '../state.js';
import { icon } from '../icons.js';
import {
  h, field, passwordField, hiddenUsername, alertBox, showAlert, showError, hideAlert, onSubmit, busy, toast,
  formatDate, pageHeader,
} from '../ui.js';
import { MIN_PASSWORD } from './register.js';
import { helpLink, rateCard } from './help-rate.js';

export const title = 'Me';

const MAX_AVATAR = 2 * 1024 * 1024;
const AVATAR_TYPES = ['image/png', 'image/jpeg'];

/** Avatar image, or a coloured circle with the first letter when there is none. Sizes: 72, 64
 * (CSS classes; no inline styles, the server's CSP forbids them). */
function avatar(me, { size = 72, src, testid } = {}) {
  const url = src || (me && me.avatar_url);
  const name = (me && (me.nickname || me.identifier)) || '?';
  if (url) {
    return h('img', { class: `avatar avatar-${size}`, src: url, alt: 'Profile photo', width: size, height: size, testid });
  }
  const letter = [...name.replace(/^\+/, '')][0] || '?';
  return h('span', { class: `avatar avatar-${size} avatar-letter`, 'aria-hidden': 'true', testid }, letter.toUpperCase());
}

export function render(ctx) {
  const me = getMe();
  const headAvatar = h('div', { class: 'profile-avatar' }, avatar(me, { testid: 'me-avatar' }));
  const headName = h('p', { class: 'profile-name', testid: 'me-name' });
  const paintHead = (m) => {
    headAvatar.replaceChildren(avatar(m, { testid: 'me-avatar' }));
    headName.textContent = m.nickname || 'No nickname yet';
    headName.classList.toggle('is-placeholder', !m.nickname);
  };
  paintHead(me);

  const head = h(
    'div',
    { class: 'card profile' },
    headAvatar,
    h(
      'div',
      { class: 'profile-text' },
      headName,
      h('p', { class: 'profile-id', testid: 'me-identifier' }, me.identifier),
      h('p', { class: 'muted small' }, `${me.identifier_kind === 'phone' ? 'Phone' : 'E-mail'} account · member since ${formatDate(me.created_at)}`),
    ),
  );

  const onSaved = (next) => {
    setMe(next);
    paintHead(next);
  };

  return h(
    'section',
    { class: 'page', testid: 'page-me' },
    pageHeader('Me'),
    head,
    profileCard(me, onSaved, ctx),
    h(
      'div',
      { class: 'card list-card' },
      h(
        'a',
        { class: 'list-row', href: '#/me/sessions', testid: 'me-sessions-link' },
        h('span', { class: 'list-icon' }, icon('devices')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Sessions & login history'), h('span', { class: 'list-sub' }, "See where you're logged in and sign out other devices")),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/me/data-access', testid: 'me-data-access-link' },
        h('span', { class: 'list-icon' }, icon('lock')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Access to my data'), h('span', { class: 'list-sub' }, 'Who at the operator saw your data, support access and requests')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/me/notifications', testid: 'me-notifications-link' },
        h('span', { class: 'list-icon' }, icon('bell')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Notifications'), h('span', { class: 'list-sub' }, 'Push, e-mail or SMS, quiet hours, snooze and webhooks')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/me/account', testid: 'me-account-link' },
        h('span', { class: 'list-icon' }, icon('lock')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Account and Security'), h('span', { class: 'list-sub' }, 'Delete your login history, cancel your account')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/orders', testid: 'me-orders-link' },
        h('span', { class: 'list-icon' }, icon('download')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Orders'), h('span', { class: 'list-sub' }, 'Your purchases and receipts; redeem a code')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/faces', testid: 'me-faces-link' },
        h('span', { class: 'list-icon' }, icon('user')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Faces'), h('span', { class: 'list-sub' }, 'Family and friends, and who your cameras saw in the last two days')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/me/privacy', testid: 'me-privacy-link' },
        h('span', { class: 'list-icon' }, icon('shield')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Privacy'), h('span', { class: 'list-sub' }, 'Your consents, optional processing and their history')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/announcements', testid: 'me-announcements-link' },
        h('span', { class: 'list-icon' }, icon('mail')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Announcements'), h('span', { class: 'list-sub' }, 'Notices from the operator of this server')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/support', testid: 'me-support-link' },
        h('span', { class: 'list-icon' }, icon('mail')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Contact support'), h('span', { class: 'list-sub' }, 'Your tickets, feedback, and help with a camera')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/about', testid: 'me-about-link' },
        h('span', { class: 'list-icon' }, icon('info')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'About'), h('span', { class: 'list-sub' }, 'The privacy policy and its versions, disclaimer and contact')),
        icon('chevron', 20),
      ),
      h(
        'a',
        { class: 'list-row', href: '#/me/exports', testid: 'me-exports-link' },
        h('span', { class: 'list-icon' }, icon('download')),
        h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Download my data'), h('span', { class: 'list-sub' }, 'A copy of your data and media, as a ZIP')),
        icon('chevron', 20),
      ),
    ),
    helpLink(),
    rateCard(),
    passwordCard(),
    logoutButton(ctx),
  );
}

function profileCard(me, onSaved, ctx) {
  const alert = alertBox('me-profile-alert');

  // Avatar: choose a file, preview it, then upload.
  const preview = h('div', { class: 'avatar-preview' }, avatar(me, { size: 64, testid: 'me-avatar-preview' }));
  const fileInput = h('input', {
    type: 'file',
    id: 'avatar-file',
    class: 'visually-hidden',
    accept: AVATAR_TYPES.join(','),
    testid: 'me-avatar-input',
  });
  const upload = h('button', { type: 'button', class: 'btn btn-primary btn-small', testid: 'me-avatar-upload', hidden: true }, 'Upload');
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'me-avatar-cancel', hidden: true }, 'Cancel');
  let chosen = null;
  let objectUrl = null;
  const dropPreview = () => {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    chosen = null;
    fileInput.value = '';
    upload.hidden = true;
    cancel.hidden = true;
  };
  ctx.onLeave(dropPreview);

  fileInput.addEventListener('change', () => {
    hideAlert(alert);
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    if (!AVATAR_TYPES.includes(file.type)) {
      dropPreview();
      showAlert(alert, 'error', 'Please choose a PNG or JPEG image.');
      return;
    }
    if (file.size > MAX_AVATAR) {
      dropPreview();
      showAlert(alert, 'error', 'That image is larger than 2 MB. Please choose a smaller one.');
      return;
    }
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    chosen = file;
    objectUrl = URL.createObjectURL(file);
    preview.replaceChildren(avatar(getMe(), { size: 64, src: objectUrl, testid: 'me-avatar-preview' }));
    upload.hidden = false;
    cancel.hidden = false;
  });
  cancel.addEventListener('click', () => {
    dropPreview();
    preview.replaceChildren(avatar(getMe(), { size: 64, testid: 'me-avatar-preview' }));
  });
  upload.addEventListener('click', () => {
    if (!chosen) return;
    hideAlert(alert);
    busy(upload, async () => {
      try {
        const next = await account.uploadAvatar(chosen);
        dropPreview();
        onSaved(next);
        preview.replaceChildren(avatar(next, { size: 64, testid: 'me-avatar-preview' }));
        showAlert(alert, 'success', 'Profile photo updated.');
      } catch (err) {
        showError(alert, err);
      }
    });
  });

  const photoRow = h(
    'div',
    { class: 'photo-row' },
    preview,
    h(
      'div',
      { class: 'photo-actions' },
      h('div', { class: 'btn-row' },
        h('label', { class: 'btn btn-secondary btn-small', for: 'avatar-file', testid: 'me-avatar-choose' }, icon('upload', 18), 'Choose photo'),
        upload,
        cancel,
      ),
      h('p', { class: 'hint' }, 'PNG or JPEG, up to 2 MB.'),
    ),
    fileInput,
  );

  // Nickname.
  const nickname = field({
    label: 'Nickname',
    hint: 'Shown in the app and in shared camera invitations. 1–32 characters.',
    testid: 'me-nickname',
    name: 'nickname',
    type: 'text',
    maxlength: 32,
    autocomplete: 'nickname',
    placeholder: 'e.g. Alice',
  });
  nickname.input.value = me.nickname || '';
  const form = h(
    'form',
    { class: 'form form-inline', novalidate: true, testid: 'me-nickname-form' },
    nickname.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'me-nickname-save' }, 'Save'),
  );
  onSubmit(form, alert, async () => {
    const value = nickname.input.value.trim();
    const length = [...value].length;
    if (length < 1 || length > 32) {
      showAlert(alert, 'error', 'Your nickname needs 1 to 32 characters.');
      nickname.input.focus();
      return;
    }
    const next = await account.updateProfile({ nickname: value });
    nickname.input.value = next.nickname || value;
    onSaved(next);
    toast('Nickname saved', 'success');
  });

  return h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Profile'), alert, photoRow, form);
}

function passwordCard() {
  const alert = alertBox('me-password-alert');
  const current = passwordField({
    label: 'Current password',
    testid: 'me-current-password',
    autocomplete: 'current-password',
    required: true,
  });
  const next = passwordField({
    label: 'New password',
    hint: `At least ${MIN_PASSWORD} characters. Other devices will be signed out.`,
    testid: 'me-new-password',
    autocomplete: 'new-password',
    minlength: MIN_PASSWORD,
    required: true,
  });
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'me-password-form' },
    alert,
    hiddenUsername(getMe()?.identifier),
    current.wrap,
    next.wrap,
    h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'me-password-save' }, 'Change password'),
  );
  onSubmit(form, alert, async () => {
    if (!current.input.value) {
      showAlert(alert, 'error', 'Enter your current password.');
      current.input.focus();
      return;
    }
    if (next.input.value.length < MIN_PASSWORD) {
      showAlert(alert, 'error', `Your new password needs at least ${MIN_PASSWORD} characters.`);
      next.input.focus();
      return;
    }
    await account.changePassword(current.input.value, next.input.value);
    current.input.value = '';
    next.input.value = '';
    showAlert(alert, 'success', 'Password changed. Your other devices have been signed out.');
  });
  return h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Change password'), form);
}

function logoutButton(ctx) {
  const button = h('button', { type: 'button', class: 'btn btn-danger-outline btn-block', testid: 'me-logout' }, icon('logout', 20), 'Log out');
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        await auth.logout();
      } catch (err) {
        // Offline: the server session is still alive, so don't pretend we logged out.
        if (err.status === 0) {
          toast(err.message, 'error');
          return;
        }
        // Any server answer (even 401: already signed out) ends the session here too.
        if (err.status !== 401) console.warn('logout:', err);
      }
      setMe(null);
      ctx.navigate('#/login');
    }),
  );
  return button;
}
