// pages/help-article.js — "#/help/:slug": one published help article, signed in or out, its
// Markdown rendered by markdown.js as text nodes (never as HTML), then "Was this helpful?"
// and "Still stuck? Contact support".

import { request } from '../api.js';
import { markdown } from '../markdown.js';
import { h, alertBox, showError, pageHeader, formatDate } from '../ui.js';

export const title = 'Help';

function helpful() {
  const answer = h('p', { class: 'muted small', role: 'status', testid: 'help-helpful-answer' });
  const yes = h('button', { type: 'button', class: 'chip', testid: 'help-helpful-yes' }, 'Yes');
  const no = h('button', { type: 'button', class: 'chip', testid: 'help-helpful-no' }, 'No');
  const choose = (text) => {
    yes.disabled = true;
    no.disabled = true;
    answer.textContent = text;
  };
  yes.addEventListener('click', () => choose('Glad it helped.'));
  no.addEventListener('click', () => choose('Sorry about that. Contact support below and tell us what you tried.'));
  return h('div', { class: 'help-helpful' }, h('span', { class: 'small' }, 'Was this helpful? '), yes, ' ', no, answer);
}

export function render(ctx) {
  const alert = alertBox('help-article-alert');
  const body = h('div', { class: 'card', testid: 'help-article' }, h('p', { class: 'muted small' }, 'Loading…'));
  const head = h('div', null, pageHeader('Help', { back: { href: '#/help', label: 'Back to help', testid: 'help-back' } }));
  request('GET', `/api/v1/help/articles/${encodeURIComponent(ctx.params.slug)}`)
    .then((a) => {
      if (!ctx.isCurrent()) return;
      document.title = `${a.title} · Kankan`;
      body.replaceChildren(
        h('h2', { class: 'card-title', testid: 'help-article-title' }, a.title),
        h('p', { class: 'muted small' }, `${a.category} · updated ${formatDate(a.updated_at)}`),
        markdown(a.body, { testid: 'help-article-body' }),
      );
    })
    .catch((err) => {
      body.replaceChildren(h('p', { class: 'muted' }, 'This article is not available.'));
      showError(alert, err);
    });
  return h(
    'section',
    { class: 'page', testid: 'page-help-article' },
    head,
    alert,
    body,
    h(
      'div',
      { class: 'card' },
      helpful(),
      h('p', { class: 'small' }, 'Still stuck? ', h('a', { href: '#/support/new', testid: 'help-article-contact' }, 'Contact support')),
    ),
  );
}
