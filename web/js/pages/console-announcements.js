// pages/console-announcements.js — "#/console/announcements": send a notice to every user
// (POST /api/v1/admin/announcements); it appears on their Announcements page.

import { h, field, alertBox, onSubmit, showAlert } from '../ui.js';
import { staffRequest } from '../console-api.js';

export const title = 'Announcements';

export function render() {
  const alert = alertBox('console-announce-alert');
  const t = field({ label: 'Title', testid: 'console-announce-title', required: true, maxlength: 120 });
  const body = h('textarea', { class: 'input', rows: 6, maxlength: 4000, required: true, testid: 'console-announce-body' });
  const form = h(
    'form',
    { class: 'stack', testid: 'console-announce-form' },
    t.wrap,
    h('div', { class: 'field' }, h('label', { class: 'label' }, 'Text'), body),
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'console-announce-send' }, 'Send to every user'),
  );
  onSubmit(form, alert, async () => {
    await staffRequest('POST', '/api/v1/admin/announcements', { json: { title: t.input.value, body: body.value } });
    form.reset();
    showAlert(alert, 'success', 'Sent. Users see it on their Announcements page.');
  });
  return h('section', { class: 'console-section', testid: 'page-console-announcements' }, h('h1', null, 'Announcements'), alert, form);
}
