// pages/privacy.js — "#/me/privacy": the account's consents. Each optional processing has its
// own switch (off until given; withdrawing stops it at once and deletes what it produced),
// then the policy version accepted and the history of every consent given or withdrawn.

import { privacy } from '../api.js';
import { h, alertBox, showError, toast, formatDateTime, pageHeader } from '../ui.js';

export const title = 'Privacy';

const PURPOSES = {
  'face-recognition': ['Face recognition', 'Recognise the faces your cameras record, to tell family from strangers'],
  'ai-descriptions': ['AI descriptions of events', 'Describe what happened in each event in words'],
  'cloud-recording': ['Cloud recording', "Keep your cameras' video on this server"],
};

const HOW = {
  registration: 'when you registered',
  settings: 'in settings',
  guardian: 'by your guardian',
  'policy-update': 'after a policy change',
};

function what(entry) {
  if (entry.purpose === 'policy') return `Accepted the privacy policy, version ${entry.version}`;
  if (entry.purpose === 'camera-disclaimer') return 'Read the camera disclaimer';
  const name = (PURPOSES[entry.purpose] || [entry.purpose])[0];
  return `${name}: ${entry.granted ? 'consent given' : 'consent withdrawn'}`;
}

function historyList(c) {
  const rows = [...c.history].reverse().map((e) =>
    h(
      'li',
      { class: 'row consent-row', testid: 'consent-history-row', dataset: { purpose: e.purpose, granted: String(e.granted) } },
      h(
        'span',
        { class: 'list-text' },
        h('span', { class: 'list-title' }, what(e)),
        h('span', { class: 'list-sub' }, `${formatDateTime(new Date(e.at_ms).toISOString())} · ${HOW[e.how] || e.how}`),
      ),
    ),
  );
  return h('ul', { class: 'plain-list', testid: 'consent-history' }, rows);
}

export function render() {
  const alert = alertBox('privacy-alert');
  const switches = h('div', { class: 'card settings', testid: 'consent-switches' });
  const policyLine = h('p', { class: 'muted small', testid: 'consent-policy' });
  const history = h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'History'), h('p', { class: 'muted small' }, 'Loading…'));

  const paint = (c) => {
    switches.replaceChildren(
      h('h2', { class: 'card-title' }, 'Optional processing'),
      h('p', { class: 'muted small' }, 'Each is off until you turn it on. Turning one off stops it at once and deletes what it produced.'),
      ...c.purposes.map((p) => purposeRow(p, c.child, paint, alert)),
    );
    policyLine.textContent = c.accepted_version
      ? `You accepted the privacy policy, version ${c.accepted_version} (in force: ${c.current_version}).`
      : `You have not accepted the privacy policy yet (in force: ${c.current_version}).`;
    history.replaceChildren(h('h2', { class: 'card-title' }, 'History'), historyList(c));
  };
  privacy.consents().then(paint).catch((err) => showError(alert, err));

  return h(
    'section',
    { class: 'page', testid: 'page-privacy' },
    pageHeader('Privacy', { back: { href: '#/me', label: 'Back to Me', testid: 'privacy-back' } }),
    alert,
    switches,
    h('div', { class: 'card' }, policyLine, h('a', { class: 'link', href: '#/about', testid: 'privacy-about-link' }, 'Read the policy and its versions')),
    history,
  );
}

function purposeRow(p, child, paint, alert) {
  const [label, hint] = PURPOSES[p.purpose] || [p.purpose, ''];
  const id = `consent-${p.purpose}`;
  const input = h('input', {
    type: 'checkbox', class: 'switch-input', id, role: 'switch', checked: p.granted, disabled: !p.available, testid: id,
  });
  const why = !p.available
    ? child && p.purpose !== 'cloud-recording'
      ? "Not available for a child's account"
      : 'Part of this server\'s service: choose each camera\'s recording mode instead'
    : hint;
  input.addEventListener('change', async () => {
    input.disabled = true;
    try {
      const c = await privacy.setConsent(p.purpose, input.checked);
      paint(c);
      toast(input.checked ? `${label}: on` : `${label}: off, and what it produced is deleted`);
    } catch (err) {
      input.checked = !input.checked;
      input.disabled = false;
      showError(alert, err);
    }
  });
  return h(
    'div',
    { class: 'set-row' },
    h('label', { class: 'set-text', for: id }, h('span', { class: 'set-label' }, label), h('span', { class: 'set-hint' }, why)),
    h('span', { class: 'switch' }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
  );
}
