// pages/console-accounts.js — "#/console/accounts" and "#/console/accounts/:id": find an
// account by its exact e-mail address or phone number (the server looks it up through the
// blind index) and see its state, devices count and bans; staff whose role may ban see Ban /
// Lift ban, each with a reason.

import { h, field, alertBox, onSubmit, showError, showAlert, formatDateTime } from '../ui.js';
import { staffRequest } from '../console-api.js';
import { holds } from '../console-shell.js';

export const title = 'Accounts';

const when = (ms) => (ms ? formatDateTime(new Date(ms).toISOString()) : '—');

function summary(a) {
  return h(
    'dl',
    { class: 'console-facts', testid: 'console-account' },
    h('dt', null, 'Account'),
    h('dd', { testid: 'console-account-id' }, a.id),
    h('dt', null, 'State'),
    h('dd', { testid: 'console-account-state' }, a.state),
    h('dt', null, 'Created'),
    h('dd', null, when(a.created_at_ms)),
    h('dt', null, 'Devices'),
    h('dd', { testid: 'console-account-devices' }, String(a.devices)),
    a.banned ? [h('dt', null, 'Ban reason'), h('dd', { testid: 'console-account-ban-reason' }, a.ban_reason || '')] : null,
  );
}

function notes(a) {
  if (!a.ban_notes.length) return null;
  return h(
    'ul',
    { class: 'console-list', testid: 'console-ban-notes' },
    a.ban_notes.map((n) => h('li', null, `${when(n.at_ms)} · ${n.action === 'ban' ? 'Banned' : 'Ban lifted'}: ${n.reason}`)),
  );
}

function banForm(a, onDone) {
  const alert = alertBox('console-ban-alert');
  const reason = field({ label: a.banned ? 'Why lift the ban' : 'Why ban this account', testid: 'console-ban-reason', required: true, maxlength: 500 });
  const form = h(
    'form',
    { class: 'stack', testid: 'console-ban-form' },
    reason.wrap,
    h(
      'button',
      { type: 'submit', class: a.banned ? 'btn' : 'btn btn-danger', testid: a.banned ? 'console-unban' : 'console-ban' },
      a.banned ? 'Lift ban' : 'Ban',
    ),
  );
  onSubmit(form, alert, async () => {
    const path = `/api/v1/admin/accounts/${a.id}/${a.banned ? 'unban' : 'ban'}`;
    onDone(await staffRequest('POST', path, { json: { reason: reason.input.value } }));
  });
  return h('div', null, alert, form);
}

function detail(id) {
  const alert = alertBox('console-account-alert');
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const show = async (a) => {
    const mayBan = await holds('accounts-ban');
    body.replaceChildren(summary(a), notes(a) || '', mayBan ? banForm(a, show) : '');
  };
  staffRequest('GET', `/api/v1/admin/accounts/${encodeURIComponent(id)}`)
    .then(show)
    .catch((err) => showError(alert, err));
  return h(
    'section',
    { class: 'console-section', testid: 'page-console-account' },
    h('p', null, h('a', { href: '#/console/accounts' }, '← Accounts')),
    h('h1', null, 'Account'),
    alert,
    body,
  );
}

function search() {
  const alert = alertBox('console-accounts-alert');
  const q = field({ label: 'E-mail address, phone number or account id', testid: 'console-accounts-q', required: true });
  const results = h('div', { testid: 'console-accounts-results' });
  const form = h(
    'form',
    { class: 'console-search', testid: 'console-accounts-form' },
    q.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'console-accounts-search' }, 'Find'),
  );
  onSubmit(form, alert, async () => {
    const res = await staffRequest('GET', `/api/v1/admin/accounts?q=${encodeURIComponent(q.input.value.trim())}`);
    if (!res.accounts.length) {
      results.replaceChildren(h('p', { class: 'muted', testid: 'console-accounts-none' }, 'No account has exactly this contact.'));
      return;
    }
    results.replaceChildren(
      h(
        'ul',
        { class: 'console-list' },
        res.accounts.map((a) =>
          h(
            'li',
            null,
            h('a', { href: `#/console/accounts/${a.id}`, testid: 'console-account-link' }, a.id),
            ` · ${a.state} · ${a.devices} device(s)`,
          ),
        ),
      ),
    );
  });
  return h(
    'section',
    { class: 'console-section', testid: 'page-console-accounts' },
    h('h1', null, 'Accounts'),
    h('p', { class: 'muted' }, 'Exact matches only: accounts are found through a keyed index, never by reading contacts.'),
    alert,
    form,
    results,
  );
}

export function render({ params }) {
  if (params.id) return detail(params.id);
  const page = search();
  holds('accounts-read').then((ok) => {
    if (!ok) showAlert(page.querySelector('.alert'), 'error', 'Your role does not read accounts.');
  });
  return page;
}
