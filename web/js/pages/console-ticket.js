// pages/console-ticket.js — "#/console/tickets/:id" (staff; the console shell wraps it): a
// ticket's thread, reply, assign (to oneself, or by staff id with tickets-assign), close, and
// the camera's logs for the ticket's assignee (anyone else is refused by the server).

import { staffRequest } from '../console-api.js';
import { h, alertBox, showError, formatDateTime, busy } from '../ui.js';

export const title = 'Ticket';

export function render({ params }) {
  const id = params.id;
  const base = `/api/v1/admin/tickets/${encodeURIComponent(id)}`;
  const alert = alertBox('console-ticket-alert');
  const head = h('div');
  const thread = h('ul', { class: 'plain-list', testid: 'console-ticket-thread' });
  const logs = h('div', { testid: 'console-ticket-logs' });
  const reply = h('textarea', { testid: 'console-ticket-reply', rows: 4, maxlength: 8000 });
  const send = h('button', { type: 'submit', class: 'button primary', testid: 'console-ticket-send' }, 'Reply');
  const form = h('form', null, reply, send);
  const take = h('button', { type: 'button', class: 'button', testid: 'console-ticket-take' }, 'Assign to me');
  const assignee = h('input', { testid: 'console-ticket-assignee', placeholder: 'Staff id' });
  const assign = h('button', { type: 'button', class: 'button', testid: 'console-ticket-assign' }, 'Assign');
  const close = h('button', { type: 'button', class: 'button', testid: 'console-ticket-close' }, 'Close');
  const act = (button, fn) =>
    button.addEventListener('click', () =>
      busy(button, async () => {
        try {
          await fn();
          await load();
        } catch (err) {
          showError(alert, err);
        }
      }),
    );
  const showLogs = (att) => {
    const view = h('button', { type: 'button', class: 'button', testid: 'console-ticket-view-logs' }, `View the camera's logs (${att.bytes} bytes)`);
    view.addEventListener('click', () =>
      busy(view, async () => {
        try {
          const a = await staffRequest('GET', `${base}/attachments/${encodeURIComponent(att.id)}`);
          logs.replaceChildren(h('pre', { class: 'logs-preview', testid: 'console-ticket-logs-text' }, a.text));
        } catch (err) {
          showError(alert, err);
        }
      }),
    );
    return view;
  };
  async function load() {
    try {
      const d = await staffRequest('GET', base);
      const t = d.ticket;
      head.replaceChildren(
        h('h1', { class: 'page-title', testid: 'console-ticket-subject' }, t.subject),
        h('p', { class: 'muted small', testid: 'console-ticket-state' }, `${t.category} · ${t.state} · ${t.assignee ? `assigned to ${t.assignee}` : 'unassigned'}`),
        d.device ? h('p', { class: 'muted small' }, `Camera ${d.device.uid}: ${d.device.model || '?'}, firmware ${d.device.firmware || '?'}, ${d.device.online ? 'online' : 'offline'}`) : null,
        ...d.attachments.map(showLogs),
      );
      thread.replaceChildren(
        ...d.messages.map((m) =>
          h(
            'li',
            { class: `card ticket-message ${m.author}`, testid: 'console-ticket-message', dataset: { author: m.author } },
            h('p', { class: 'muted small' }, `${m.author === 'staff' ? 'Support' : 'User'} · ${formatDateTime(new Date(m.at_ms).toISOString())}`),
            h('p', null, m.body),
          ),
        ),
      );
      form.hidden = t.state !== 'open';
    } catch (err) {
      showError(alert, err);
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(send, async () => {
      try {
        await staffRequest('POST', `${base}/messages`, { json: { body: reply.value } });
        reply.value = '';
        await load();
      } catch (err) {
        showError(alert, err);
      }
    });
  });
  act(take, () => staffRequest('POST', `${base}/assign`, { json: {} }));
  act(assign, () => staffRequest('POST', `${base}/assign`, { json: { staff_id: assignee.value.trim() } }));
  act(close, () => staffRequest('POST', `${base}/close`));
  load();
  return h(
    'section',
    { class: 'page', testid: 'page-console-ticket' },
    h('p', null, h('a', { href: '#/console/tickets', testid: 'console-ticket-back' }, '← Tickets')),
    alert,
    head,
    logs,
    thread,
    form,
    h('div', { class: 'actions' }, take, assignee, assign, close),
  );
}
