// pages/help-rate.js — the "Rate Kankan" card of the Me page: 1 to 5 stars and an optional
// comment for this version of the app (one rating per version; rating again changes it), and
// the "Help & feedback" link. Nothing of the account's contact goes with a rating.

import { request } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showAlert, showError, onSubmit } from '../ui.js';

/** The version of the web app a rating is for. */
export const APP_VERSION = 'web-1';

/** The Me page's line to the help center (a card of its own, so other lines merge beside it). */
export function helpLink() {
  return h(
    'div',
    { class: 'card list-card' },
    h(
      'a',
      { class: 'list-row', href: '#/help', testid: 'me-help-link' },
      h('span', { class: 'list-icon' }, icon('info')),
      h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, 'Help & feedback'), h('span', { class: 'list-sub' }, 'Answers to common questions, and contact support')),
      icon('chevron', 20),
    ),
  );
}

export function rateCard() {
  const alert = alertBox('rate-alert');
  let stars = 0;
  const buttons = [1, 2, 3, 4, 5].map((n) => {
    const b = h('button', { type: 'button', class: 'chip rate-star', 'aria-pressed': 'false', 'aria-label': `${n} star${n === 1 ? '' : 's'}`, testid: `rate-star-${n}` }, '★');
    b.addEventListener('click', () => paint(n));
    return b;
  });
  const paint = (n) => {
    stars = n;
    buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(i < n)));
  };
  const comment = h('textarea', { class: 'input', id: 'rate-comment', rows: 3, maxlength: 1000, testid: 'rate-comment', placeholder: 'What works, what does not (optional)' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'rate-submit' }, 'Send rating');
  const form = h(
    'form',
    { novalidate: true },
    h('div', { class: 'chips-wrap', role: 'group', 'aria-label': 'Stars' }, buttons),
    h('label', { class: 'label', for: 'rate-comment' }, 'Comment'),
    comment,
    submit,
  );
  onSubmit(form, alert, async () => {
    if (!stars) {
      showAlert(alert, 'error', 'Choose 1 to 5 stars.');
      return;
    }
    const text = comment.value.trim();
    await request('PUT', '/api/v1/me/rating', { json: { stars, comment: text || null, app_version: APP_VERSION } });
    showAlert(alert, 'success', 'Thank you! You can change your rating any time.');
  });
  request('GET', `/api/v1/me/rating?app_version=${encodeURIComponent(APP_VERSION)}`)
    .then((res) => {
      if (res.rating) {
        paint(res.rating.stars);
        comment.value = res.rating.comment || '';
      }
    })
    .catch((err) => showError(alert, err));
  return h(
    'div',
    { class: 'card', testid: 'rate-card' },
    h('h2', { class: 'card-title' }, 'Rate Kankan'),
    h('p', { class: 'muted small card-lead' }, 'Your rating and comment reach the team without your e-mail or phone number.'),
    alert,
    form,
  );
}
