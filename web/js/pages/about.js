// pages/about.js — "#/about": the operator's privacy policy and its versions (each one's text on
// demand, rendered as text), the disclaimer, contact details and response time, and whether
// this server describes events with AI and where the pictures go. Reachable signed in or out.

import { privacy } from '../api.js';
import { markdown } from '../markdown.js';
import { getMe } from '../state.js';
import { h, alertBox, showError, pageHeader } from '../ui.js';

export const title = 'About';

function versionRow(v, current, alert) {
  const text = h('div', { class: 'policy-text', hidden: true, testid: `about-policy-text-${v.version}` });
  const read = h('button', { type: 'button', class: 'btn btn-link', testid: `about-read-${v.version}` }, 'Read');
  read.addEventListener('click', async () => {
    if (!text.hidden) {
      text.hidden = true;
      read.textContent = 'Read';
      return;
    }
    try {
      const doc = await privacy.policy(v.version);
      text.replaceChildren(markdown(doc.text));
      text.hidden = false;
      read.textContent = 'Hide';
    } catch (err) {
      showError(alert, err);
    }
  });
  return h(
    'li',
    { class: 'row policy-version', testid: 'about-policy-version', dataset: { version: v.version } },
    h(
      'div',
      { class: 'list-text' },
      h('span', { class: 'list-title' }, `Version ${v.version}${v.version === current ? ' (in force)' : ''}`),
      h('span', { class: 'list-sub' }, `${v.major ? 'Major' : 'Minor'} version, published ${v.published}`),
      v.changes ? h('span', { class: 'list-sub' }, v.changes) : null,
      text,
    ),
    read,
  );
}

export function render() {
  const alert = alertBox('about-alert');
  const body = h('div', null, h('p', { class: 'muted small' }, 'Loading…'));
  privacy
    .about()
    .then((a) => {
      body.replaceChildren(
        h(
          'div',
          { class: 'card' },
          h('h2', { class: 'card-title' }, 'Privacy policy'),
          h('ul', { class: 'plain-list' }, [...a.policies].reverse().map((v) => versionRow(v, a.current_version, alert))),
        ),
        h('div', { class: 'card', testid: 'about-disclaimer' }, h('h2', { class: 'card-title' }, 'Disclaimer'), markdown(a.disclaimer)),
        h(
          'div',
          { class: 'card', testid: 'about-ai' },
          h('h2', { class: 'card-title' }, 'AI descriptions'),
          h(
            'p',
            { testid: 'about-ai-text' },
            a.ai_descriptions
              ? `This server can describe events in one sentence with an AI model. When you turn it on for a camera (after giving your consent), the pictures of each event are sent to ${a.ai_endpoint_host} and nowhere else; only the sentence is kept, encrypted, and it is deleted with the event or when you withdraw your consent.`
              : 'This server does not describe events with AI: no pictures are sent to an AI model.',
          ),
        ),
        h(
          'div',
          { class: 'card', testid: 'about-contact' },
          h('h2', { class: 'card-title' }, 'Contact'),
          a.contact ? markdown(a.contact) : h('p', { class: 'muted' }, 'The operator of this server has not published contact details.'),
          h('p', { class: 'muted small', testid: 'about-response-time' }, `Requests are answered within ${a.response_working_days} working days.`),
        ),
      );
    })
    .catch((err) => showError(alert, err));
  const back = getMe() ? { href: '#/me', label: 'Back to Me', testid: 'about-back' } : { href: '#/login', label: 'Back', testid: 'about-back' };
  return h('section', { class: 'page', testid: 'page-about' }, pageHeader('About', { back }), alert, body);
}
