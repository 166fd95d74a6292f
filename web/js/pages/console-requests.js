// pages/console-requests.js — "#/console/requests": the data-subject request queue (earliest
// due first, overdue marked); opening one shows its message (the reading is logged) and lets
// staff close it as done or refused.

import { h, alertBox, showError, formatDateTime, busy } from '../ui.js';
import { staffRequest } from '../console-api.js';

export const title = 'Requests';

const when = (ms) => (ms ? formatDateTime(new Date(ms).toISOString()) : '—');

function detail(id) {
  const alert = alertBox('console-request-alert');
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const show = (r) => {
    const close = (state) => {
      const b = h('button', { type: 'button', class: 'btn', testid: `console-request-${state}` }, state === 'done' ? 'Close as done' : 'Refuse');
      b.addEventListener('click', () =>
        busy(b, () => staffRequest('POST', `/api/v1/admin/requests/${r.id}/close`, { json: { state } }).then(show).catch((err) => showError(alert, err))),
      );
      return b;
    };
    body.replaceChildren(
      h('p', null, `${r.kind} · ${r.state} · due ${when(r.due_at_ms)}${r.overdue ? ' · overdue' : ''}`),
      h('p', null, `Account ${r.account}`),
      r.message ? h('blockquote', { testid: 'console-request-message' }, r.message) : null,
      r.state === 'open' ? h('div', { class: 'row' }, close('done'), close('refused')) : null,
    );
  };
  staffRequest('GET', `/api/v1/admin/requests/${encodeURIComponent(id)}`).then(show).catch((err) => showError(alert, err));
  return h('section', { class: 'console-section', testid: 'page-console-request' }, h('p', null, h('a', { href: '#/console/requests' }, '← Requests')), h('h1', null, 'Request'), alert, body);
}

export function render({ params }) {
  if (params.id) return detail(params.id);
  const alert = alertBox('console-requests-alert');
  const list = h('ul', { class: 'console-list', testid: 'console-requests' }, h('li', { class: 'muted' }, 'Loading…'));
  staffRequest('GET', '/api/v1/admin/requests')
    .then((res) =>
      list.replaceChildren(
        ...(res.requests.length
          ? res.requests.map((r) =>
              h('li', { testid: 'console-request' }, h('a', { href: `#/console/requests/${r.id}` }, r.kind), ` · due ${when(r.due_at_ms)}${r.overdue ? ' · overdue' : ''}`),
            )
          : [h('li', { class: 'muted' }, 'No open requests.')]),
      ),
    )
    .catch((err) => showError(alert, err));
  return h('section', { class: 'console-section', testid: 'page-console-requests' }, h('h1', null, 'Data-subject requests'), alert, list);
}
