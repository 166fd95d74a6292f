// pages/console-audit.js — "#/console/audit": the audit log of staff actions and accesses to
// users' data, newest last (reading it is logged too).

import { h, alertBox, showError, formatDateTime } from '../ui.js';
import { staffRequest } from '../console-api.js';

export const title = 'Audit log';

export function render({ query }) {
  const alert = alertBox('console-audit-alert');
  const rows = h('tbody', null);
  const after = Number((query && query.get && query.get('after')) || 0);
  staffRequest('GET', `/api/v1/admin/audit?after=${after}&limit=500`)
    .then((page) =>
      rows.replaceChildren(
        ...page.entries.map((e) =>
          h(
            'tr',
            { testid: 'console-audit-entry', dataset: { action: e.action } },
            h('td', null, String(e.seq)),
            h('td', null, formatDateTime(new Date(e.at_ms).toISOString())),
            h('td', null, e.actor),
            h('td', null, e.action),
            h('td', null, e.subject || ''),
            h('td', null, e.detail),
          ),
        ),
      ),
    )
    .catch((err) => showError(alert, err));
  return h(
    'section',
    { class: 'console-section', testid: 'page-console-audit' },
    h('h1', null, 'Audit log'),
    alert,
    h('table', { class: 'console-table', testid: 'console-audit' }, h('thead', null, h('tr', null, ['#', 'When', 'Who', 'Action', 'Account', 'Detail'].map((x) => h('th', null, x)))), rows),
  );
}
