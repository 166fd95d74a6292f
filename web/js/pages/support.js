// pages/support.js — "#/support": the user's support tickets, latest activity first, each with
// its unread staff replies; "Contact support" opens a new one.

import { request } from '../api.js';
import { h, alertBox, showError, formatDateTime, pageHeader, emptyState } from '../ui.js';

export const title = 'My tickets';

export function render() {
  const alert = alertBox('support-alert');
  const list = h('div', null, h('p', { class: 'muted small' }, 'Loading…'));
  request('GET', '/api/v1/support/tickets')
    .then(({ tickets }) => {
      list.replaceChildren(
        tickets.length
          ? h(
              'ul',
              { class: 'plain-list', testid: 'ticket-list' },
              tickets.map((t) =>
                h(
                  'li',
                  null,
                  h(
                    'a',
                    { class: 'list-row', href: `#/support/${t.id}`, testid: 'ticket-row', dataset: { id: t.id } },
                    h(
                      'span',
                      { class: 'list-text' },
                      h('span', { class: 'list-title' }, t.subject),
                      h('span', { class: 'list-sub' }, `${t.category} · ${t.state} · ${formatDateTime(new Date(t.updated_at_ms).toISOString())}`),
                    ),
                    t.unread ? h('span', { class: 'badge', testid: 'ticket-unread' }, `${t.unread} new`) : null,
                  ),
                ),
              ),
            )
          : emptyState({ iconName: 'mail', title: 'No tickets', text: 'Ask for help or send feedback: support answers here.', testid: 'tickets-empty' }),
      );
    })
    .catch((err) => showError(alert, err));
  return h(
    'section',
    { class: 'page', testid: 'page-support' },
    pageHeader('My tickets', { back: { href: '#/me', label: 'Back to Me', testid: 'support-back' } }),
    h('p', null, h('a', { class: 'button primary', href: '#/support/new', testid: 'support-new-link' }, 'Contact support')),
    alert,
    list,
  );
}
