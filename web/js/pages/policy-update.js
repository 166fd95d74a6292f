// pages/policy-update.js — "#/policy-update": the blocking notice of a major privacy policy
// change: what changed in each version since the one accepted, the new text, and Accept. Until
// then the rest of the app is closed (the server answers `policy-acceptance-required`); the
// account's data export and cancellation, About and logging out stay reachable.

import { privacy, auth } from '../api.js';
import { markdown } from '../markdown.js';
import { HOME, setMe } from '../state.js';
import { refreshNotices, setAcceptanceRequired } from '../notices.js';
import { h, alertBox, showError, busy, pageHeader } from '../ui.js';

export const title = 'Privacy policy changed';

export function render(ctx) {
  const alert = alertBox('policy-update-alert');
  const changes = h('ul', { class: 'plain-list', testid: 'policy-update-changes' });
  const text = h('div', { class: 'policy-text', testid: 'policy-update-text' });
  const accept = h('button', { type: 'button', class: 'btn btn-primary btn-block', testid: 'policy-update-accept', disabled: true }, 'Accept');
  let version = null;
  Promise.all([privacy.consents(), privacy.policy()])
    .then(([c, doc]) => {
      version = doc.version;
      if (!c.acceptance_required) {
        setAcceptanceRequired(false);
        ctx.navigate(HOME, { replace: true });
        return;
      }
      changes.replaceChildren(
        ...c.newer_versions.map((v) =>
          h(
            'li',
            { class: 'row', testid: 'policy-update-change' },
            h('span', { class: 'list-text' }, h('span', { class: 'list-title' }, `Version ${v.version} (${v.published})`), h('span', { class: 'list-sub' }, v.changes || 'See the full text below.')),
          ),
        ),
      );
      text.replaceChildren(markdown(doc.text));
      accept.disabled = false;
      accept.textContent = `Accept version ${doc.version}`;
    })
    .catch((err) => showError(alert, err));
  accept.addEventListener('click', () =>
    busy(accept, async () => {
      try {
        await privacy.accept(version);
        setAcceptanceRequired(false);
        ctx.navigate(HOME, { replace: true });
        refreshNotices().catch((err) => console.warn('notices:', err));
      } catch (err) {
        showError(alert, err);
      }
    }),
  );
  const logout = h('button', { type: 'button', class: 'btn btn-secondary btn-block', testid: 'policy-update-logout' }, 'Log out');
  logout.addEventListener('click', async () => {
    try {
      await auth.logout();
    } finally {
      setMe(null);
      ctx.navigate('#/login', { replace: true });
    }
  });
  return h(
    'section',
    { class: 'page', testid: 'page-policy-update' },
    pageHeader('The privacy policy changed'),
    alert,
    h('div', { class: 'card notice-card' }, h('p', null, 'Please read what changed and accept the new version to go on using Kankan.'), changes),
    h('div', { class: 'card' }, text),
    accept,
    h(
      'p',
      { class: 'muted small policy-update-links' },
      "Don't agree? You can still ",
      h('a', { class: 'link', href: '#/me/exports', testid: 'policy-update-export' }, 'download your data'),
      ' or ',
      h('a', { class: 'link', href: '#/me/account', testid: 'policy-update-cancel' }, 'cancel your account'),
      '.',
    ),
    logout,
  );
}
