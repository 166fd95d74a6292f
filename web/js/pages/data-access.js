// pages/data-access.js — "#/me/data-access", Account and Security → "Access to my data": every access to
// the account's data by the operator's staff or the system (from the audit log), the support
// grants that let staff see a camera's recordings for a few hours (give, withdraw), and the
// data-subject requests with their deadlines (file, follow).

import { account, devices as devicesApi } from '../api.js';
import { h, alertBox, showError, busy, toast, onSubmit, timeEl, formatDateTime, pageHeader } from '../ui.js';

export const title = 'Access to my data';

const KINDS = [
  ['access', 'A copy of what you hold about me'],
  ['export', 'My data in a portable format'],
  ['rectification', 'Correct my data'],
  ['erasure', 'Delete my data'],
  ['cancellation', 'Cancel my account'],
  ['objection', 'Stop some processing'],
  ['other', 'Something else'],
];

const iso = (ms) => new Date(ms).toISOString();

function accessItem(e) {
  const who = e.by === 'staff' ? `Staff: ${e.who}` : e.by === 'system' ? 'The system' : e.by === 'operator' ? `Operator: ${e.who}` : 'You';
  return h(
    'li',
    { class: 'row', testid: 'data-access-item', dataset: { action: e.action } },
    h(
      'div',
      { class: 'row-main' },
      h('p', { class: 'row-title' }, e.action.replace(/-/g, ' ')),
      h('p', { class: 'row-sub' }, who, ' · ', timeEl(iso(e.at_ms), { relative: false })),
      e.detail ? h('p', { class: 'row-sub muted small' }, e.detail) : null,
    ),
  );
}

function grantItem(g, onWithdraw) {
  const end = g.withdrawn_at_ms ? `withdrawn ${formatDateTime(iso(g.withdrawn_at_ms))}` : g.live ? `until ${formatDateTime(iso(g.expires_at_ms))}` : 'expired';
  const withdraw = g.live ? h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', testid: 'support-grant-withdraw' }, 'Withdraw') : null;
  if (withdraw) withdraw.addEventListener('click', () => onWithdraw(g, withdraw));
  return h(
    'li',
    { class: 'row', testid: 'support-grant-item', dataset: { grantId: g.id, live: String(g.live) } },
    h('div', { class: 'row-main' }, h('p', { class: 'row-title' }, g.devices.join(', ')), h('p', { class: 'row-sub' }, end)),
    h('div', { class: 'row-end' }, withdraw),
  );
}

function requestItem(r) {
  const state = r.state === 'open' ? (r.overdue ? 'Overdue' : 'Open') : r.state === 'done' ? 'Answered' : 'Refused';
  return h(
    'li',
    { class: 'row', testid: 'request-item', dataset: { state: r.state } },
    h(
      'div',
      { class: 'row-main' },
      h('p', { class: 'row-title' }, (KINDS.find(([k]) => k === r.kind) || [r.kind, r.kind])[1]),
      h('p', { class: 'row-sub' }, `${state} · sent ${formatDateTime(iso(r.received_at_ms))} · answer due by ${formatDateTime(iso(r.due_at_ms))}`),
      r.message ? h('p', { class: 'row-sub muted small' }, r.message) : null,
    ),
  );
}

export function render() {
  const alert = alertBox('data-access-alert');
  const accessList = h('ul', { class: 'rows', testid: 'data-access-list', 'aria-busy': 'true' });
  const grantList = h('ul', { class: 'rows', testid: 'support-grant-list' });
  const requestList = h('ul', { class: 'rows', testid: 'request-list' });
  const deviceBoxes = h('div', { class: 'stack', testid: 'support-grant-devices' });
  const hours = h('input', { class: 'input', type: 'number', min: '1', max: '72', value: '24', id: 'support-hours', testid: 'support-grant-hours' });

  const loadGrants = async () => {
    const { grants } = await account.supportGrants();
    grantList.replaceChildren(...grants.map((g) => grantItem(g, onWithdraw)));
    if (!grants.length) grantList.append(h('li', { class: 'row-empty' }, 'Staff cannot see your video: you have given no support access.'));
  };
  const loadAccess = async () => {
    const { entries } = await account.dataAccess();
    accessList.replaceChildren(...entries.map(accessItem));
    if (!entries.length) accessList.append(h('li', { class: 'row-empty' }, 'Nobody at the operator has accessed your data.'));
    accessList.removeAttribute('aria-busy');
  };
  const loadRequests = async () => {
    const { requests } = await account.requests();
    requestList.replaceChildren(...requests.map(requestItem));
    if (!requests.length) requestList.append(h('li', { class: 'row-empty' }, 'No requests yet.'));
  };
  const onWithdraw = (g, button) =>
    busy(button, async () => {
      try {
        await account.withdrawSupportGrant(g.id);
        toast('Support access withdrawn', 'success');
        await Promise.all([loadGrants(), loadAccess()]);
      } catch (err) {
        showError(alert, err);
      }
    });

  const grantForm = h(
    'form',
    { class: 'stack', testid: 'support-grant-form' },
    h('p', { class: 'muted small' }, 'Let the support staff play back the recordings of these cameras, and nothing else, for a few hours:'),
    deviceBoxes,
    h('label', { for: 'support-hours' }, 'Hours (1-72)'),
    hours,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'support-grant-give' }, 'Give support access'),
  );
  onSubmit(grantForm, alert, async () => {
    const chosen = [...deviceBoxes.querySelectorAll('input:checked')].map((i) => i.value);
    await account.giveSupportGrant(Number(hours.value), chosen);
    toast('Support access given', 'success');
    await Promise.all([loadGrants(), loadAccess()]);
  });

  const kind = h('select', { class: 'input select', id: 'request-kind', testid: 'request-kind' }, KINDS.map(([v, t]) => h('option', { value: v }, t)));
  const message = h('textarea', { class: 'input', id: 'request-message', maxlength: '4000', rows: '3', testid: 'request-message' });
  const requestForm = h(
    'form',
    { class: 'stack', testid: 'request-form' },
    h('label', { for: 'request-kind' }, 'What do you ask?'),
    kind,
    h('label', { for: 'request-message' }, 'Message (optional)'),
    message,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'request-send' }, 'Send request'),
  );
  onSubmit(requestForm, alert, async () => {
    await account.fileRequest(kind.value, message.value.trim());
    message.value = '';
    toast('Request sent', 'success');
    await loadRequests();
  });

  (async () => {
    try {
      const [list] = await Promise.all([devicesApi.list(), loadAccess(), loadGrants(), loadRequests()]);
      const own = (list || []).filter((d) => !d.role || d.role === 'owner');
      deviceBoxes.replaceChildren(
        ...own.map((d) =>
          h('label', { class: 'check' }, h('input', { type: 'checkbox', value: d.uid, testid: 'support-grant-device' }), ' ', d.name || d.uid),
        ),
      );
      if (!own.length) grantForm.hidden = true;
    } catch (err) {
      showError(alert, err);
    }
  })();

  return h(
    'section',
    { class: 'page', testid: 'page-data-access' },
    pageHeader('Access to my data', { back: { href: '#/me', label: 'Back to Me', testid: 'data-access-back' } }),
    alert,
    h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Who accessed my data'), h('p', { class: 'muted small card-lead' }, 'Every access by the operator’s staff or systems to your data, from a tamper-evident log.'), accessList),
    h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Support access'), grantList, grantForm),
    h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'My requests'), h('p', { class: 'muted small card-lead' }, 'The operator answers each request by the date shown (in working days, as the privacy policy says).'), requestList, requestForm),
  );
}
