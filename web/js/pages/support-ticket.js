// pages/support-ticket.js — "#/support/:id": one of the user's tickets: its thread (support's
// replies not read before are marked "New"), a reply box and "Close the ticket".

import { request } from '../api.js';
import { h, alertBox, showError, formatDateTime, pageHeader, busy } from '../ui.js';

export const title = 'Ticket';

function messageItem(m) {
  return h(
    'li',
    { class: `card ticket-message ${m.author}`, testid: 'ticket-message', dataset: { author: m.author } },
    h(
      'p',
      { class: 'muted small' },
      `${m.author === 'staff' ? 'Support' : 'You'} · ${formatDateTime(new Date(m.at_ms).toISOString())}`,
      m.unread ? h('span', { class: 'badge', testid: 'ticket-message-new' }, ' New') : null,
    ),
    h('p', { class: 'ticket-message-body' }, m.body),
  );
}

export function render({ params }) {
  const id = params.id;
  const alert = alertBox('ticket-alert');
  const head = h('div');
  const thread = h('ul', { class: 'plain-list', testid: 'ticket-thread' });
  const reply = h('textarea', { testid: 'ticket-reply', rows: 4, maxlength: 8000 });
  const send = h('button', { type: 'submit', class: 'button primary', testid: 'ticket-reply-send' }, 'Send');
  const close = h('button', { type: 'button', class: 'button', testid: 'ticket-close' }, 'Close the ticket');
  const form = h('form', { testid: 'ticket-reply-form' }, reply, send, close);
  const path = `/api/v1/support/tickets/${encodeURIComponent(id)}`;
  const load = () =>
    request('GET', path)
      .then((d) => {
        const t = d.ticket;
        head.replaceChildren(
          h('h2', { testid: 'ticket-subject' }, t.subject),
          h('p', { class: 'muted small', testid: 'ticket-state' }, `${t.category} · ${t.state}`),
          d.device ? h('p', { class: 'muted small' }, `Camera ${d.device.uid} (${d.device.model || ''} ${d.device.firmware || ''})`) : null,
          d.attachments.length ? h('p', { class: 'muted small', testid: 'ticket-attachments' }, `Attached: the camera's logs (${d.attachments[0].bytes} bytes)`) : null,
        );
        thread.replaceChildren(...d.messages.map(messageItem));
        form.hidden = t.state !== 'open';
      })
      .catch((err) => showError(alert, err));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(send, async () => {
      try {
        await request('POST', `${path}/messages`, { json: { body: reply.value } });
        reply.value = '';
        await load();
      } catch (err) {
        showError(alert, err);
      }
    });
  });
  close.addEventListener('click', () =>
    busy(close, async () => {
      try {
        await request('POST', `${path}/close`);
        await load();
      } catch (err) {
        showError(alert, err);
      }
    }),
  );
  load();
  return h(
    'section',
    { class: 'page', testid: 'page-support-ticket' },
    pageHeader('Ticket', { back: { href: '#/support', label: 'My tickets', testid: 'ticket-back' } }),
    alert,
    head,
    thread,
    form,
  );
}
