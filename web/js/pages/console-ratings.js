// pages/console-ratings.js — "#/console/ratings" (staff, `tickets-read`): the app's ratings
// summed up: count, average, how many of each star, and the latest comments. Never who rated.
// The console's shell wraps this page.

import { staffRequest } from '../console-api.js';
import { h, alertBox, showError, formatDateTime } from '../ui.js';

export const title = 'Ratings';

export function render(ctx) {
  const alert = alertBox('console-ratings-alert');
  const body = h('div', { testid: 'console-ratings' }, h('p', { class: 'muted small' }, 'Loading…'));
  staffRequest('GET', '/api/v1/admin/ratings')
    .then((s) => {
      if (!ctx.isCurrent()) return;
      const max = Math.max(1, ...s.distribution);
      body.replaceChildren(
        h(
          'div',
          { class: 'card' },
          h('h2', { class: 'card-title' }, 'Summary'),
          h('p', { testid: 'console-ratings-average' }, s.count ? `${s.average.toFixed(2)} of 5 from ${s.count} rating${s.count === 1 ? '' : 's'}` : 'No ratings yet'),
          h(
            'ul',
            { class: 'plain-list', testid: 'console-ratings-distribution' },
            [5, 4, 3, 2, 1].map((n) =>
              h(
                'li',
                { class: 'row' },
                h('span', null, `${n} ★`),
                h('meter', { min: 0, max, value: s.distribution[n - 1], 'aria-label': `${n} stars` }),
                h('span', { testid: `console-ratings-${n}` }, String(s.distribution[n - 1])),
              ),
            ),
          ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h2', { class: 'card-title' }, 'Recent comments'),
          s.recent.length
            ? h(
                'ul',
                { class: 'plain-list', testid: 'console-ratings-comments' },
                s.recent.map((c) =>
                  h(
                    'li',
                    { class: 'row' },
                    h('div', { class: 'list-text' }, h('span', { class: 'list-title' }, c.comment), h('span', { class: 'list-sub' }, `${c.stars} ★ · ${c.app_version} · ${formatDateTime(c.at)}`)),
                  ),
                ),
              )
            : h('p', { class: 'muted small' }, 'No comments yet.'),
        ),
      );
    })
    .catch((err) => showError(alert, err));
  return h('section', { class: 'page', testid: 'page-console-ratings' }, h('h1', { class: 'page-title' }, 'Ratings'), alert, body);
}
