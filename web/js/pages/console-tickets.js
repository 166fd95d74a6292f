// pages/console-tickets.js — "#/console/tickets" (staff; the console shell wraps it): the
// ticket queue with its filters (open or closed, mine only) and "Take" to assign a ticket to
// oneself.

import { staffRequest } from '../console-api.js';
import { h, alertBox, showError, formatDateTime, busy } from '../ui.js';

export const title = 'Tickets';

export function render() {
  const alert = alertBox('console-tickets-alert');
  const state = h(
    'select',
    { testid: 'tickets-state' },
    h('option', { value: 'open' }, 'Open'),
    h('option', { value: 'closed' }, 'Closed'),
    h('option', { value: '' }, 'All'),
  );
  const mine = h('input', { type: 'checkbox', testid: 'tickets-mine' });
  const list = h('div', { testid: 'tickets-queue' });
  const load = () => {
    const q = new URLSearchParams();
    if (state.value) q.set('state', state.value);
    if (mine.checked) q.set('mine', 'true');
    return staffRequest('GET', `/api/v1/admin/tickets?${q}`)
      .then(({ tickets }) => {
        list.replaceChildren(
          tickets.length
            ? h(
                'table',
                { class: 'table' },
                h('thead', null, h('tr', null, h('th', null, 'Subject'), h('th', null, 'Category'), h('th', null, 'State'), h('th', null, 'Updated'), h('th', null, ''))),
                h(
                  'tbody',
                  null,
                  tickets.map((t) => {
                    const take = h('button', { type: 'button', class: 'button', testid: 'ticket-take' }, t.assignee ? 'Take over' : 'Take');
                    take.addEventListener('click', () =>
                      busy(take, async () => {
                        try {
                          await staffRequest('POST', `/api/v1/admin/tickets/${t.id}/assign`, { json: {} });
                          location.hash = `#/console/tickets/${t.id}`;
                        } catch (err) {
                          showError(alert, err);
                        }
                      }),
                    );
                    return h(
                      'tr',
                      { testid: 'ticket-queue-row', dataset: { id: t.id } },
                      h('td', null, h('a', { href: `#/console/tickets/${t.id}`, testid: 'ticket-queue-link' }, t.subject)),
                      h('td', null, t.category),
                      h('td', null, t.state),
                      h('td', null, formatDateTime(new Date(t.updated_at_ms).toISOString())),
                      h('td', null, take),
                    );
                  }),
                ),
              )
            : h('p', { class: 'muted', testid: 'tickets-queue-empty' }, 'No tickets.'),
        );
      })
      .catch((err) => showError(alert, err));
  };
  state.addEventListener('change', load);
  mine.addEventListener('change', load);
  load();
  return h(
    'section',
    { class: 'page', testid: 'page-console-tickets' },
    h('h1', { class: 'page-title' }, 'Tickets'),
    h('div', { class: 'filters' }, h('label', null, 'State ', state), h('label', null, mine, ' Assigned to me')),
    alert,
    list,
  );
}
