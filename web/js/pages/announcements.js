// pages/announcements.js — "#/announcements": the operator's notices to every user, newest
// first (a security incident notice, for example). Opening the page marks them seen.

import { privacy } from '../api.js';
import { h, alertBox, showError, formatDateTime, pageHeader, emptyState } from '../ui.js';
import { markAnnouncementsSeen } from '../notices.js';

export const title = 'Announcements';

export function render() {
  const alert = alertBox('announcements-alert');
  const list = h('div', null, h('p', { class: 'muted small' }, 'Loading…'));
  privacy
    .announcements()
    .then((items) => {
      markAnnouncementsSeen(items);
      list.replaceChildren(
        items.length
          ? h(
              'ul',
              { class: 'plain-list', testid: 'announcement-list' },
              items.map((a) =>
                h(
                  'li',
                  { class: 'card announcement', testid: 'announcement', dataset: { id: a.id } },
                  h('h2', { class: 'card-title' }, a.title),
                  h('p', { class: 'muted small' }, formatDateTime(new Date(a.at_ms).toISOString())),
                  h('p', { class: 'announcement-body' }, a.body),
                ),
              ),
            )
          : emptyState({ iconName: 'bell', title: 'No announcements', text: 'Notices from the operator of this server appear here.', testid: 'announcements-empty' }),
      );
    })
    .catch((err) => showError(alert, err));
  return h(
    'section',
    { class: 'page', testid: 'page-announcements' },
    pageHeader('Announcements', { back: { href: '#/me', label: 'Back to Me', testid: 'announcements-back' } }),
    alert,
    list,
  );
}
