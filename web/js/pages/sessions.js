// pages/sessions.js — "#/me/sessions": active sessions (client, IP, created, last used, "this
// device" marker, sign out per other session) and the login history below it.

import { account } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showError, busy, toast, timeEl, formatDateTime, pageHeader } from '../ui.js';

export const title = 'Sessions';

/** Turns a User-Agent into "Chrome on Android"; other client strings are shown as they are. */
export function describeClient(client) {
  const ua = String(client || '').trim();
  if (!ua) return 'Unknown client';
  if (!/^Mozilla\//.test(ua)) return ua;
  const browser =
    (/Edg\//.test(ua) && 'Edge') ||
    (/OPR\//.test(ua) && 'Opera') ||
    (/Firefox\//.test(ua) && 'Firefox') ||
    (/(Chrome|Chromium|CriOS)\//.test(ua) && 'Chrome') ||
    (/Safari\//.test(ua) && 'Safari') ||
    'Browser';
  const os =
    (/Android/.test(ua) && 'Android') ||
    (/(iPhone|iPad|iPod)/.test(ua) && 'iOS') ||
    (/Windows/.test(ua) && 'Windows') ||
    (/(Macintosh|Mac OS X)/.test(ua) && 'macOS') ||
    (/CrOS/.test(ua) && 'ChromeOS') ||
    (/Linux/.test(ua) && 'Linux') ||
    null;
  return os ? `${browser} on ${os}` : browser;
}

function clientIcon(client) {
  return /Android|iPhone|iPad|Mobile/.test(String(client)) ? 'phone' : 'monitor';
}

const OUTCOMES = {
  success: ['Success', 'badge-success'],
  'bad-password': ['Wrong password', 'badge-warn'],
  locked: ['Locked', 'badge-danger'],
  banned: ['Banned', 'badge-danger'],
  'second-factor-failed': ['Wrong verification code', 'badge-warn'],
};

/** How a session signed in (`signed_in_with`), in words. */
const SIGNED_IN_WITH = {
  password: 'password',
  'password+totp': 'password and authenticator app',
  'password+recovery-code': 'password and recovery code',
  'password+passkey': 'password and passkey',
  passkey: 'passkey',
};

function skeleton(rows) {
  return Array.from({ length: rows }, () =>
    h('li', { class: 'row skeleton', 'aria-hidden': 'true' }, h('span', { class: 'sk-line' }), h('span', { class: 'sk-line short' })),
  );
}

function sessionItem(s, onSignOut) {
  const signOut = s.current
    ? h('span', { class: 'badge badge-accent', testid: 'session-current' }, 'This device')
    : h(
        'button',
        { type: 'button', class: 'btn btn-danger-outline btn-small', testid: 'session-signout', dataset: { sessionId: s.id } },
        'Sign out',
      );
  const item = h(
    'li',
    { class: `row${s.current ? ' is-current' : ''}`, testid: 'session-item', dataset: { sessionId: s.id } },
    h('span', { class: 'list-icon' }, icon(clientIcon(s.client))),
    h(
      'div',
      { class: 'row-main' },
      h('p', { class: 'row-title', title: s.client || '' }, describeClient(s.client)),
      h('p', { class: 'row-sub' }, s.ip || 'Unknown IP', ' · last used ', timeEl(s.last_used_at)),
      h('p', { class: 'row-sub' }, 'Signed in ', formatDateTime(s.created_at)),
      h('p', { class: 'row-sub', testid: 'session-signed-in-with' }, 'With ', SIGNED_IN_WITH[s.signed_in_with] || s.signed_in_with),
    ),
    h('div', { class: 'row-end' }, signOut),
  );
  if (!s.current) signOut.addEventListener('click', () => onSignOut(s, item, signOut));
  return item;
}

function loginItem(entry) {
  const [label, cls] = OUTCOMES[entry.outcome] || [entry.outcome, 'badge-muted'];
  return h(
    'li',
    { class: 'row', testid: 'login-item', dataset: { outcome: entry.outcome } },
    h('span', { class: 'list-icon' }, icon(clientIcon(entry.client))),
    h(
      'div',
      { class: 'row-main' },
      h('p', { class: 'row-title', title: entry.client || '' }, describeClient(entry.client)),
      h('p', { class: 'row-sub' }, entry.ip || 'Unknown IP', ' · ', timeEl(entry.at, { relative: false })),
      h(
        'div',
        { class: 'row-badges' },
        h('span', { class: `badge ${cls}`, testid: 'login-outcome' }, label),
        entry.new_device ? h('span', { class: 'badge badge-accent', testid: 'login-new-device' }, 'New device') : null,
      ),
    ),
  );
}

export function render() {
  const alert = alertBox('sessions-alert');
  const sessionsList = h('ul', { class: 'rows', testid: 'sessions-list', 'aria-busy': 'true' }, skeleton(2));
  const loginsList = h('ul', { class: 'rows', testid: 'logins-list', 'aria-busy': 'true' }, skeleton(3));

  const onSignOut = (s, item, button) =>
    busy(button, async () => {
      try {
        await account.revokeSession(s.id);
        item.remove();
        toast('Signed out of that device', 'success');
        if (!sessionsList.querySelector('[data-testid=session-item]:not(.is-current)')) {
          sessionsList.append(h('li', { class: 'row-empty' }, 'No other devices are signed in.'));
        }
      } catch (err) {
        showError(alert, err);
      }
    });

  const load = async () => {
    const [sessions, logins] = await Promise.allSettled([account.sessions(), account.logins()]);
    if (sessions.status === 'fulfilled') {
      const list = [...sessions.value].sort((a, b) => (b.current - a.current) || String(b.last_used_at).localeCompare(String(a.last_used_at)));
      sessionsList.replaceChildren(...list.map((s) => sessionItem(s, onSignOut)));
      if (list.length <= 1) sessionsList.append(h('li', { class: 'row-empty' }, 'No other devices are signed in.'));
    } else {
      sessionsList.replaceChildren();
      showError(alert, sessions.reason);
    }
    if (logins.status === 'fulfilled') {
      loginsList.replaceChildren(...logins.value.map(loginItem));
      if (!logins.value.length) loginsList.append(h('li', { class: 'row-empty' }, 'No logins recorded yet.'));
    } else {
      loginsList.replaceChildren();
      if (sessions.status === 'fulfilled') showError(alert, logins.reason);
    }
    sessionsList.removeAttribute('aria-busy');
    loginsList.removeAttribute('aria-busy');
  };
  load();

  return h(
    'section',
    { class: 'page', testid: 'page-sessions' },
    pageHeader('Sessions', { back: { href: '#/me', label: 'Back to Me', testid: 'sessions-back' } }),
    alert,
    h(
      'div',
      { class: 'card' },
      h('h2', { class: 'card-title' }, 'Active sessions'),
      h('p', { class: 'muted small card-lead' }, 'Devices and browsers that are logged in to your account.'),
      sessionsList,
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', { class: 'card-title' }, 'Login history'),
      h('p', { class: 'muted small card-lead' }, 'Recent attempts to log in to your account. Something unfamiliar? Change your password.'),
      loginsList,
    ),
  );
}
