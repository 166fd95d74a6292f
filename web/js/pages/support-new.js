// pages/support-new.js — "#/support/new": a new support ticket. A category, a subject, what
// happened, optionally a camera; "Attach the camera's logs" asks the camera for them and shows
// them to read before sending (they can be removed again). Nothing is sent until "Send".

import { request } from '../api.js';
import { h, alertBox, showError, pageHeader, busy, sleep } from '../ui.js';

export const title = 'Contact support';

const CATEGORIES = [
  ['camera', 'A camera'],
  ['app', 'The app'],
  ['account', 'My account'],
  ['billing', 'Payments'],
  ['feedback', 'Feedback'],
  ['other', 'Something else'],
];

/** Asks the camera for its logs and waits until they are ready (or fail). */
async function fetchLogs(uid) {
  const base = `/api/v1/devices/${encodeURIComponent(uid)}/logs`;
  let r = await request('POST', base);
  for (let i = 0; i < 100 && r.state === 'waiting'; i += 1) {
    await sleep(300);
    r = await request('GET', `${base}/${encodeURIComponent(r.id)}`);
  }
  if (r.state !== 'ready') throw new Error('The camera did not send its logs. Try again later.');
  return r;
}

export function render() {
  const alert = alertBox('support-new-alert');
  const category = h(
    'select',
    { testid: 'ticket-category', name: 'category' },
    CATEGORIES.map(([v, label]) => h('option', { value: v }, label)),
  );
  const subject = h('input', { testid: 'ticket-subject', name: 'subject', maxlength: 120, required: true });
  const body = h('textarea', { testid: 'ticket-body', name: 'body', rows: 6, maxlength: 8000, required: true });
  const camera = h('select', { testid: 'ticket-camera', name: 'camera' }, h('option', { value: '' }, 'No camera'));
  let logs = null;
  const preview = h('div', { testid: 'ticket-logs' });
  const attach = h('button', { type: 'button', class: 'button', testid: 'ticket-attach-logs', disabled: true }, "Attach the camera's logs");
  const showLogs = () => {
    if (!logs) {
      preview.replaceChildren();
      attach.disabled = !camera.value;
      return;
    }
    attach.disabled = true;
    preview.replaceChildren(
      h('p', { class: 'muted small' }, `The camera's logs (${logs.bytes} bytes) will be sent with your ticket. Read them first:`),
      h('pre', { class: 'logs-preview', testid: 'ticket-logs-text' }, logs.text),
      h(
        'button',
        {
          type: 'button',
          class: 'button',
          testid: 'ticket-remove-logs',
          onclick: () => {
            logs = null;
            showLogs();
          },
        },
        'Remove the logs',
      ),
    );
  };
  camera.addEventListener('change', () => {
    logs = null;
    showLogs();
  });
  attach.addEventListener('click', () =>
    busy(attach, async () => {
      try {
        logs = await fetchLogs(camera.value);
      } catch (err) {
        showError(alert, err);
      }
      showLogs();
    }),
  );
  request('GET', '/api/v1/devices')
    .then((list) => {
      for (const d of list) camera.append(h('option', { value: d.uid }, d.name || d.uid));
    })
    .catch((err) => showError(alert, err));
  const send = h('button', { type: 'submit', class: 'button primary', testid: 'ticket-send' }, 'Send');
  const form = h(
    'form',
    { testid: 'ticket-form' },
    h('label', null, 'What is it about?', category),
    h('label', null, 'Subject', subject),
    h('label', null, 'What happened?', body),
    h('label', null, 'Camera', camera),
    attach,
    preview,
    send,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(send, async () => {
      try {
        const json = { category: category.value, subject: subject.value, body: body.value };
        if (camera.value) json.device_uid = camera.value;
        if (logs) json.logs_request = logs.id;
        const t = await request('POST', '/api/v1/support/tickets', { json });
        location.hash = `#/support/${t.id}`;
      } catch (err) {
        showError(alert, err);
      }
    });
  });
  return h(
    'section',
    { class: 'page', testid: 'page-support-new' },
    pageHeader('Contact support', { back: { href: '#/support', label: 'My tickets', testid: 'support-new-back' } }),
    alert,
    form,
  );
}
