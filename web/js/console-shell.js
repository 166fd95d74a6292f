// console-shell.js — the staff console's layout: a side nav showing only what the signed-in
// staff member's role holds (from GET /api/v1/admin/me), the staff member and Sign out, and the
// page. app.js wraps every `staff: true` page (except the console's sign-in) in it.

import { h } from './ui.js';
import { staffRequest, staffToken, clearStaffToken } from './console-api.js';

/** The console's sections: link, label and the permission that shows it. */
export const NAV = [
  { href: '#/console/accounts', label: 'Accounts', permission: 'accounts-read' },
  { href: '#/console/devices', label: 'Devices', permission: 'devices-read' },
  { href: '#/console/tickets', label: 'Tickets', permission: 'tickets-read' },
  { href: '#/console/help', label: 'Help articles', permission: 'help-edit' },
  { href: '#/console/ratings', label: 'Ratings', permission: 'tickets-read' },
  { href: '#/console/firmware', label: 'Rollouts', permission: 'firmware-manage' },
  { href: '#/console/announcements', label: 'Announcements', permission: 'announcements-send' },
  { href: '#/console/requests', label: 'Requests', permission: 'data-requests' },
  { href: '#/console/audit', label: 'Audit', permission: 'audit-read' },
  { href: '#/console/staff', label: 'Staff', permission: 'staff-manage' },
];

let cached = null; // { token, me: Promise }

/** The signed-in staff member (id, username, role, permissions), fetched once per session. */
export function staffMe() {
  const token = staffToken();
  if (!cached || cached.token !== token) {
    cached = { token, me: staffRequest('GET', '/api/v1/admin/me') };
    cached.me.catch(() => {
      cached = null;
    });
  }
  return cached.me;
}

/** Whether the signed-in staff member's role holds `permission`. */
export async function holds(permission) {
  try {
    const me = await staffMe();
    return me.permissions.includes(permission);
  } catch {
    return false;
  }
}

async function signOut() {
  try {
    await staffRequest('POST', '/api/v1/admin/logout');
  } catch {
    /* the session may have ended already */
  }
  clearStaffToken();
  cached = null;
  location.hash = '#/console/login';
}

/** Wraps a console page in the layout; `path` marks the current section. */
export function consoleShell(page, { path }) {
  const links = h('ul', { class: 'console-nav-list', testid: 'console-nav' });
  const who = h('p', { class: 'console-who', testid: 'console-who' });
  staffMe()
    .then((me) => {
      who.textContent = `${me.username} · ${me.role}`;
      links.replaceChildren(
        ...NAV.filter((n) => me.permissions.includes(n.permission)).map((n) =>
          h(
            'li',
            null,
            h(
              'a',
              {
                href: n.href,
                class: 'console-nav-link',
                testid: `console-nav-${n.href.split('/').pop()}`,
                'aria-current': `#${path}`.startsWith(n.href) ? 'page' : null,
              },
              n.label,
            ),
          ),
        ),
      );
    })
    .catch(() => {});
  return h(
    'div',
    { class: 'console-layout', testid: 'console-shell' },
    h(
      'nav',
      { class: 'console-nav', 'aria-label': 'Console' },
      h('p', { class: 'console-brand' }, 'Kankan console'),
      who,
      links,
      h('button', { type: 'button', class: 'btn console-signout', testid: 'console-signout', onclick: signOut }, 'Sign out'),
    ),
    h('div', { class: 'console-page' }, page),
  );
}
