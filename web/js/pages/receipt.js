// pages/receipt.js — "#/deletion-receipt[/code]": a deletion receipt, found by the code its
// message carried (no login): what was deleted of an account, and when.

import { account } from '../api.js';
import { h, field, alertBox, showAlert, onSubmit, formatDateTime, authLayout } from '../ui.js';

export const title = 'Deletion receipt';

const KINDS = {
  devices: 'Cameras unbound',
  recordings: 'Recordings',
  events: 'Events',
  album_items: 'Album items',
  shares: 'Shares',
  invitations: 'Invitations',
  push_subscriptions: 'Push subscriptions',
  webhooks: 'Webhooks',
  sessions: 'Sessions',
  login_events: 'Login history entries',
};

const REASONS = {
  cancelled: 'You cancelled the account.',
  dormant: 'The account was not used for the period the privacy policy states.',
  operator: 'The operator deleted the account at your request.',
};

const at = (ms) => formatDateTime(new Date(ms).toISOString());

function receiptView(r) {
  return h(
    'div',
    { class: 'receipt', testid: 'receipt' },
    h('p', { testid: 'receipt-reason' }, REASONS[r.reason] || r.reason),
    h('p', {}, `Account key destroyed on ${at(r.shredded_at_ms)}: from then on nothing of the account could be read.`),
    h('p', { testid: 'receipt-purged' }, r.purged_at_ms ? `Everything was removed by ${at(r.purged_at_ms)}.` : 'The removal is still running.'),
    h(
      'ul',
      { class: 'receipt-counts' },
      ...r.deleted.map((d) => h('li', { testid: `receipt-${d.kind}` }, `${KINDS[d.kind] || d.kind}: ${d.count}`)),
    ),
    h('p', { class: 'muted small' }, `This receipt itself is deleted on ${at(r.expires_at_ms)}.`),
  );
}

export function render(ctx) {
  const alert = alertBox('receipt-alert');
  const out = h('div', {});
  const code = field({ label: 'Receipt code', testid: 'receipt-code', name: 'code', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true });
  code.input.value = ctx.params.code || '';
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'receipt-form' },
    alert,
    code.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'receipt-submit' }, 'Show the receipt'),
  );
  const show = async () => {
    const value = code.input.value.trim();
    if (!value) {
      showAlert(alert, 'error', 'Enter the code from the deletion message.');
      return;
    }
    try {
      out.replaceChildren(receiptView(await account.receipt(value)));
    } catch (err) {
      out.replaceChildren();
      showAlert(alert, 'error', err.status === 404 ? 'No receipt has that code (receipts are kept for 90 days).' : err.message);
    }
  };
  onSubmit(form, alert, show);
  if (ctx.params.code) show();
  return authLayout(
    { title: 'Deletion receipt', subtitle: 'What was deleted of an account, and when.', testid: 'page-receipt' },
    form,
    out,
    h('p', { class: 'auth-switch' }, h('a', { class: 'link', href: '#/login' }, 'Back to log in')),
  );
}
