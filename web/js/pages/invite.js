// pages/invite.js — "#/invite/{token}": an invitation to share cameras, opened from its link
// or QR code (signed out, the app asks to log in or sign up first and comes back here). It
// shows what the invitation says, and only that: the inviter's nickname and the cameras'
// names. Accept adds them to the device list; "Not now" leaves the invitation unused. A used,
// withdrawn, expired or someone else's invitation gets one answer: no longer valid.

import { sharing } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showError, busy, toast, emptyState, formatDateTime } from '../ui.js';

export const title = 'Invitation';

function invalid() {
  return emptyState({
    iconName: 'qr',
    title: 'This invitation is no longer valid',
    text: 'It was used, withdrawn or has expired, or it is meant for someone else. Ask the owner for a new one.',
    testid: 'invite-invalid',
    action: h('a', { class: 'btn btn-primary', href: '#/devices', testid: 'invite-invalid-back' }, 'Go to your devices'),
  });
}

export function render(ctx) {
  const token = ctx.params.token;
  const alert = alertBox('invite-alert');
  const body = h('div', null, h('div', { class: 'card skeleton', 'aria-busy': 'true' }, h('span', { class: 'sk-line' }), h('span', { class: 'sk-line short' })));
  const root = h(
    'section',
    { class: 'page', testid: 'page-invite' },
    h('header', { class: 'page-head' }, h('a', { class: 'icon-btn', href: '#/devices', 'aria-label': 'Back to devices', testid: 'invite-back' }, icon('back')), h('h1', { class: 'page-title' }, 'Invitation')),
    alert,
    body,
  );

  const offer = (p) => {
    const accept = h('button', { type: 'button', class: 'btn btn-primary', testid: 'invite-accept' }, icon('check', 20), 'Accept');
    const later = h('a', { class: 'btn btn-secondary', href: '#/devices', testid: 'invite-decline' }, 'Not now');
    accept.addEventListener('click', () =>
      busy(accept, async () => {
        try {
          const done = await sharing.accept(token);
          const n = (done.devices || []).length;
          toast(n === 1 ? 'The camera is in your devices' : `${n} cameras are in your devices`, 'success');
          ctx.navigate('#/devices', { replace: true });
        } catch (err) {
          if (err.status === 401 || !ctx.isCurrent()) return;
          if (err.code === 'invitation-invalid') body.replaceChildren(invalid());
          else showError(alert, err);
        }
      }),
    );
    const names = (p.devices || []).map((d) => d.name);
    return h(
      'div',
      { class: 'card invite-card', testid: 'invite-preview' },
      h('div', { class: 'empty-art' }, icon('camera', 36)),
      h('p', { class: 'invite-lead' }, h('strong', { testid: 'invite-inviter' }, p.inviter), names.length === 1 ? ' shares a camera with you:' : ' shares cameras with you:'),
      h('ul', { class: 'invite-devices', testid: 'invite-devices' }, names.map((n) => h('li', { testid: 'invite-device' }, icon('camera', 18), n))),
      h('p', { class: 'muted small' }, 'You will be able to watch them live and get their alarms. You can leave at any time.'),
      p.expires_at_ms ? h('p', { class: 'muted small', testid: 'invite-expires' }, `This invitation works once, until ${formatDateTime(new Date(p.expires_at_ms).toISOString())}.`) : null,
      h('div', { class: 'btn-row' }, accept, later),
    );
  };

  sharing
    .preview(token)
    .then((p) => {
      if (!ctx.isCurrent()) return;
      body.replaceChildren(offer(p));
    })
    .catch((err) => {
      if (!ctx.isCurrent() || err.status === 401) return;
      if (err.code === 'invitation-invalid' || err.status === 404) body.replaceChildren(invalid());
      else {
        body.replaceChildren();
        showError(alert, err);
      }
    });
  return root;
}
