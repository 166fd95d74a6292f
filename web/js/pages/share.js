// pages/share.js — "#/devices/{uid}/share": the owner shares a camera. "Invite someone" makes
// a single-use invitation for this camera (and, ticked, others of the owner's), optionally
// only for one e-mail or phone number, expiring after a chosen time: it shows as a QR code
// (the server draws it) and a link with a copy button. Below: the invitations not used yet
// (withdraw), and from share-members.js the members with what each may do, the membership
// history and who watched when (the access log). A member or a stranger gets not-found.

import { devices, sharing } from '../api.js';
import { icon } from '../icons.js';
import {
  h, field, alertBox, showError, hideAlert, busy, toast, emptyState, formatDateTime, normalizeIdentifier, showFieldError, clearFieldError,
} from '../ui.js';
import { deviceTitle } from '../device-ui.js';
import { isMember } from '../sharing-ui.js';
import { membersCard, historyCard, accessCard } from './share-members.js';

export const title = 'Share';

const EXPIRY = [
  [1, '1 hour'],
  [24, '24 hours'],
  [72, '3 days'],
  [168, '7 days'],
];
const MAX_DEVICES = 16;

function backLink(uid) {
  return h('a', { class: 'icon-btn', href: `#/devices/${encodeURIComponent(uid)}`, 'aria-label': 'Back to the device', testid: 'share-back' }, icon('back'));
}

function header(uid, name) {
  return h(
    'header',
    { class: 'page-head' },
    backLink(uid),
    h('div', { class: 'page-title-wrap' }, h('h1', { class: 'page-title' }, 'Share'), h('p', { class: 'muted small page-sub', testid: 'share-device-name' }, name)),
  );
}

/** The SVG the server drew, as an <img> (a data: URL: nothing in it runs). */
function qrImage(svg) {
  const url = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
  return h('img', { class: 'share-qr', src: url, alt: 'QR code of the invitation link', width: 220, height: 220, testid: 'share-qr' });
}

async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (an insecure origin): select it for the user to copy.
    input.focus();
    input.select();
    return document.execCommand && document.execCommand('copy');
  }
}

/** The invitation just made: QR code, link, copy button and when it expires. */
function resultView(inv) {
  const link = h('input', { class: 'input share-link', type: 'text', readonly: true, value: inv.link, 'aria-label': 'Invitation link', testid: 'share-link' });
  const copy = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'share-copy' }, 'Copy link');
  copy.addEventListener('click', async () => {
    if (await copyText(inv.link, link)) toast('Link copied', 'success');
  });
  const names = (inv.devices || []).map((d) => d.name || d.uid).join(', ');
  return h(
    'div',
    { class: 'share-result', testid: 'share-result' },
    qrImage(inv.qr_svg || ''),
    h('p', { class: 'small' }, 'Let them scan this code with Kankan (Devices › Scan a QR code), or send them the link.'),
    h('div', { class: 'share-link-row' }, link, copy),
    h('p', { class: 'muted small', testid: 'share-result-info' }, `${names} · works once, until ${formatDateTime(new Date(inv.expires_at_ms).toISOString())}`),
  );
}

/** The "Invite someone" card. `onMade()` hears each new invitation. */
function inviteCard(d, own, onMade) {
  const alert = alertBox('share-alert');
  const boxes = own.map((x) => {
    const input = h('input', { type: 'checkbox', value: x.uid, checked: x.uid === d.uid, testid: 'share-device', dataset: { uid: x.uid } });
    return { input, node: h('label', { class: 'check-row' }, input, h('span', null, deviceTitle(x))) };
  });
  const bound = field({
    label: 'Only for (optional)',
    hint: 'An e-mail or phone number: then only that account can accept it.',
    testid: 'share-bound',
    type: 'text',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'friend@example.com or +14155550123',
  });
  const expiry = h('select', { class: 'input select', id: 'share-expiry', testid: 'share-expiry' }, EXPIRY.map(([v, t]) => h('option', { value: v, selected: v === 24 }, t)));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'share-create' }, icon('qr', 20), 'Create invitation');
  const result = h('div', { testid: 'share-result-slot' });
  const form = h(
    'form',
    { class: 'share-stack', novalidate: true, testid: 'share-form' },
    boxes.length > 1 ? h('fieldset', { class: 'share-devices' }, h('legend', { class: 'set-label' }, 'Cameras'), boxes.map((b) => b.node)) : null,
    bound.wrap,
    h('div', { class: 'field' }, h('label', { class: 'label', for: 'share-expiry' }, 'Expires after'), expiry),
    submit,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    hideAlert(alert);
    clearFieldError(bound.input);
    const uids = boxes.filter((b) => b.input.checked).map((b) => b.input.value);
    if (!uids.length) {
      showError(alert, new Error('Choose at least one camera.'));
      return;
    }
    if (uids.length > MAX_DEVICES) {
      showError(alert, new Error(`One invitation shares at most ${MAX_DEVICES} cameras.`));
      return;
    }
    const boundTo = normalizeIdentifier(bound.input.value);
    busy(submit, async () => {
      try {
        const inv = await sharing.invite({ devices: uids, boundTo, expiresInHours: Number(expiry.value) });
        result.replaceChildren(resultView(inv));
        onMade(inv);
      } catch (err) {
        if (err.status === 401) return;
        if (err.code === 'invalid-identifier' || err.code === 'invalid-bound-to') showFieldError(bound.input, err.message);
        else showError(alert, err);
      }
    });
  });
  return h(
    'div',
    { class: 'card', testid: 'share-invite' },
    h('h2', { class: 'card-title' }, 'Invite someone'),
    h('p', { class: 'muted small card-lead' }, 'They see your nickname and the cameras\' names, nothing else about your account. Members can watch live and get alarms; you choose what more they may do.'),
    alert,
    form,
    result,
  );
}

/** The invitations not used yet that include this camera, each with "Withdraw". */
function pendingCard(uid) {
  const alert = alertBox('share-pending-alert');
  const list = h('ul', { class: 'rows', testid: 'share-pending' });
  const none = h('p', { class: 'muted small', testid: 'share-pending-none' }, 'No open invitations.');
  const load = async () => {
    try {
      const all = await sharing.pending();
      const mine = all.filter((inv) => (inv.devices || []).some((x) => x.uid === uid));
      list.replaceChildren(...mine.map(row));
      none.hidden = mine.length > 0;
      hideAlert(alert);
    } catch (err) {
      if (err.status !== 401) showError(alert, err);
    }
  };
  const row = (inv) => {
    const revoke = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'share-pending-revoke' }, 'Withdraw');
    revoke.addEventListener('click', () =>
      busy(revoke, async () => {
        try {
          await sharing.revoke(inv.id);
          toast('Invitation withdrawn', 'success');
        } catch (err) {
          if (err.status !== 404 && err.status !== 401) showError(alert, err);
        }
        await load();
      }),
    );
    const names = (inv.devices || []).map((x) => x.name || x.uid).join(', ');
    return h(
      'li',
      { class: 'row', testid: 'share-pending-item', dataset: { id: inv.id } },
      h(
        'div',
        { class: 'row-main' },
        h('p', { class: 'row-title' }, names),
        h('p', { class: 'row-sub' }, `${inv.bound ? 'For one person · ' : ''}until ${formatDateTime(new Date(inv.expires_at_ms).toISOString())}`),
      ),
      h('div', { class: 'row-end' }, revoke),
    );
  };
  load();
  return {
    node: h('div', { class: 'card', testid: 'share-pending-card' }, h('h2', { class: 'card-title' }, 'Open invitations'), alert, none, list),
    reload: load,
  };
}

export function render(ctx) {
  const uid = ctx.params.uid;
  const root = h(
    'section',
    { class: 'page', testid: 'page-share', dataset: { uid } },
    header(uid, uid),
    h('div', { class: 'card skeleton', 'aria-busy': 'true' }, h('span', { class: 'sk-line' }), h('span', { class: 'sk-line short' })),
  );
  const alert = alertBox('share-page-alert');
  const notFound = () =>
    root.replaceChildren(
      header(uid, ''),
      emptyState({
        iconName: 'camera',
        title: 'Device not found',
        text: 'Only the owner of a camera can share it. It may have been removed, or the link is wrong.',
        testid: 'share-not-found',
        action: h('a', { class: 'btn btn-primary', href: '#/devices', testid: 'share-not-found-back' }, 'Back to devices'),
      }),
    );

  devices
    .list()
    .then((all) => {
      if (!ctx.isCurrent()) return;
      const d = all.find((x) => x.uid === uid);
      if (!d || isMember(d)) {
        notFound();
        return;
      }
      document.title = `Share ${deviceTitle(d)} · Kankan`;
      const own = all.filter((x) => !isMember(x));
      const pending = pendingCard(uid);
      const history = historyCard(uid);
      const members = membersCard(uid, ctx, { onChanged: () => history.reload() });
      const access = accessCard(uid);
      root.replaceChildren(
        header(uid, deviceTitle(d)),
        alert,
        inviteCard(d, own, () => {
          pending.reload();
          history.reload();
        }),
        pending.node,
        members.node,
        history.node,
        access.node,
      );
      // Someone may accept, or watch, while the page is open.
      const timer = setInterval(() => {
        if (document.hidden) return;
        pending.reload();
        members.reload();
        access.reload();
      }, 5000);
      ctx.onLeave(() => clearInterval(timer));
    })
    .catch((err) => {
      if (!ctx.isCurrent() || err.status === 401) return;
      showError(alert, err);
      root.replaceChildren(header(uid, ''), alert);
    });
  return root;
}
