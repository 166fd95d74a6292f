// pages/help.js — "#/help": the help center, signed in or out. A search box that answers as
// one types (the server searches the published articles; nothing of a search is kept), the
// categories as chips, and the articles found with a snippet each. `?q=` and `?category=`
// open it with a search or a category.

import { request } from '../api.js';
import { h, alertBox, showError, pageHeader } from '../ui.js';

export const title = 'Help';

const V1 = '/api/v1';

/** The published help articles matching `q` in `category` (both optional). */
export function searchArticles(q, category) {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (category) params.set('category', category);
  const qs = params.toString();
  return request('GET', `${V1}/help/articles${qs ? `?${qs}` : ''}`);
}

function resultRow(a) {
  return h(
    'li',
    { class: 'row help-result', testid: 'help-result', dataset: { slug: a.slug } },
    h(
      'a',
      { class: 'list-text help-result-link', href: `#/help/${encodeURIComponent(a.slug)}`, testid: `help-result-${a.slug}` },
      h('span', { class: 'list-title' }, a.title),
      h('span', { class: 'list-sub' }, a.category),
      a.snippet ? h('span', { class: 'list-sub help-snippet' }, a.snippet) : null,
    ),
  );
}

export function render(ctx) {
  const alert = alertBox('help-alert');
  const input = h('input', {
    class: 'input',
    type: 'search',
    id: 'help-q',
    placeholder: 'Search help: pairing, Wi-Fi, live view…',
    autocomplete: 'off',
    'aria-label': 'Search help',
    testid: 'help-search',
    value: ctx.query.get('q') || '',
  });
  const chips = h('div', { class: 'chips-wrap', role: 'group', 'aria-label': 'Categories', testid: 'help-categories' });
  const status = h('p', { class: 'muted small', role: 'status', testid: 'help-status' }, 'Loading…');
  const list = h('ul', { class: 'plain-list', testid: 'help-results' });
  let category = ctx.query.get('category') || '';
  let seq = 0;
  let timer = null;

  const paintChips = (categories) => {
    const chip = (name, label) => {
      const b = h('button', { type: 'button', class: 'chip', 'aria-pressed': String(category === name), testid: `help-category-${name || 'all'}` }, label);
      b.addEventListener('click', () => {
        category = category === name ? '' : name;
        run();
      });
      return b;
    };
    chips.replaceChildren(chip('', 'All'), ...categories.map((c) => chip(c.name, `${c.name} (${c.count})`)));
  };

  async function run() {
    const mine = ++seq;
    const q = input.value;
    try {
      const res = await searchArticles(q.trim() ? q : '', category);
      if (mine !== seq || !ctx.isCurrent()) return;
      paintChips(res.categories);
      list.replaceChildren(...res.articles.map(resultRow));
      status.textContent = res.articles.length
        ? q.trim() ? `${res.articles.length} article${res.articles.length === 1 ? '' : 's'} found` : ''
        : 'Nothing found. Try other words, or contact support.';
    } catch (err) {
      if (mine === seq) showError(alert, err);
    }
  }

  // Results as one types: a short pause, then the latest words.
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  ctx.onLeave(() => clearTimeout(timer));
  run();

  return h(
    'section',
    { class: 'page', testid: 'page-help' },
    pageHeader('Help'),
    h('div', { class: 'card' }, h('label', { class: 'label', for: 'help-q' }, 'How can we help?'), input, chips),
    alert,
    h('div', { class: 'card' }, status, list),
    h(
      'p',
      { class: 'muted small' },
      'Still stuck? ',
      h('a', { href: '#/support/new', testid: 'help-contact' }, 'Contact support'),
    ),
  );
}
