// pages/two-step.js — the "Two-step verification" card of Me → Account and Security: enrol an
// authenticator app (QR code, or the secret typed in), confirm with a first code, see the
// recovery codes once (copy, download), regenerate them, disable, forget remembered devices.

import { secondFactor } from '../second-factor.js';
import { getMe } from '../state.js';
import { h, field, passwordField, hiddenUsername, alertBox, showAlert, onSubmit, busy, formatDateTime } from '../ui.js';

/** The card; it loads the account's second factor itself. */
export function twoStepCard() {
  const alert = alertBox('two-step-alert');
  const body = h('div', { testid: 'two-step-body' });
  const card = h(
    'div',
    { class: 'card', testid: 'two-step-card' },
    h('h2', { class: 'card-title' }, 'Two-step verification'),
    h('p', { class: 'muted' }, 'Logins from a new device ask for a code from an authenticator app on your phone, as well as your password.'),
    alert,
    body,
  );
  const refresh = async () => {
    try {
      const status = await secondFactor.status();
      body.replaceChildren(...view(status, { alert, refresh, body }));
    } catch (err) {
      showAlert(alert, 'error', err.message);
    }
  };
  refresh();
  return card;
}

function password(testid) {
  return passwordField({ label: 'Your password', testid, autocomplete: 'current-password', required: true });
}

function view(status, ctx) {
  const on = status.methods.includes('totp');
  const parts = [];
  if (status.required && !on) {
    parts.push(h('p', { class: 'badge badge-warn', testid: 'two-step-required' }, 'Required by this service: set it up to use your account.'));
  }
  parts.push(
    h('p', { testid: 'two-step-state' }, on ? 'On: authenticator app.' : 'Off.'),
  );
  if (!on) {
    parts.push(enrolForm(ctx));
    return parts;
  }
  parts.push(h('p', { class: 'muted', testid: 'two-step-codes-left' }, `${status.recovery_codes_left} recovery codes left.`));
  parts.push(regenerateForm(ctx));
  if (status.remembered_devices.length) {
    const forget = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'two-step-forget-devices' }, 'Forget remembered devices');
    forget.addEventListener('click', () =>
      busy(forget, async () => {
        await secondFactor.forgetDevices();
        await ctx.refresh();
      }),
    );
    parts.push(
      h('h3', {}, 'Remembered devices'),
      h(
        'ul',
        { testid: 'two-step-devices' },
        status.remembered_devices.map((d) => h('li', {}, `${d.client} — last used ${formatDateTime(d.last_used_at)}, until ${formatDateTime(d.expires_at)}`)),
      ),
      forget,
    );
  }
  parts.push(disableForm(ctx));
  return parts;
}

function enrolForm(ctx) {
  const pw = password('two-step-password');
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'two-step-enrol-form' },
    hiddenUsername(getMe()?.identifier),
    pw.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'two-step-enrol' }, 'Set up an authenticator app'),
  );
  onSubmit(form, ctx.alert, async () => {
    const started = await secondFactor.startTotp(pw.input.value);
    form.replaceWith(confirmForm(started, ctx));
  });
  return form;
}

function confirmForm(started, ctx) {
  const code = field({ label: 'Code from the app', testid: 'two-step-confirm-code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true });
  const qr = h('img', {
    class: 'qr',
    alt: 'QR code to scan with your authenticator app',
    testid: 'two-step-qr',
    width: 240,
    height: 240,
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(started.qr_svg)}`,
  });
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'two-step-confirm-form' },
    h('p', {}, 'Scan this QR code with your authenticator app, or type the key in by hand.'),
    qr,
    h('p', {}, 'Key: ', h('code', { testid: 'two-step-secret' }, started.secret)),
    code.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'two-step-confirm' }, 'Turn on'),
  );
  onSubmit(form, ctx.alert, async () => {
    const res = await secondFactor.confirmTotp(code.input.value.trim());
    ctx.body.replaceChildren(showCodes(res.recovery_codes, ctx));
  });
  return form;
}

/** The recovery codes, shown once, with copy and download. */
function showCodes(codes, ctx) {
  const text = codes.join('\n');
  const copy = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'two-step-copy-codes' }, 'Copy');
  copy.addEventListener('click', () => navigator.clipboard?.writeText(text).catch(() => {}));
  const download = h(
    'a',
    { class: 'btn btn-secondary btn-small', testid: 'two-step-download-codes', download: 'kankan-recovery-codes.txt', href: `data:text/plain;charset=utf-8,${encodeURIComponent(`${text}\n`)}` },
    'Download',
  );
  const done = h('button', { type: 'button', class: 'btn btn-primary', testid: 'two-step-codes-done' }, 'I saved them');
  done.addEventListener('click', () => ctx.refresh());
  return h(
    'div',
    { testid: 'two-step-codes' },
    h('p', {}, 'Two-step verification is on. Keep these recovery codes somewhere safe: each signs you in once if you lose your phone. They are shown only now.'),
    h('pre', { class: 'codes', testid: 'two-step-code-list' }, text),
    h('div', { class: 'form-row-end' }, copy, download),
    done,
  );
}

function regenerateForm(ctx) {
  const pw = password('two-step-regen-password');
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'two-step-regen-form' },
    hiddenUsername(getMe()?.identifier),
    pw.wrap,
    h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'two-step-regenerate' }, 'New recovery codes'),
  );
  onSubmit(form, ctx.alert, async () => {
    const res = await secondFactor.regenerate(pw.input.value);
    ctx.body.replaceChildren(showCodes(res.recovery_codes, ctx));
  });
  return form;
}

function disableForm(ctx) {
  const pw = password('two-step-disable-password');
  const code = field({ label: 'Code from the app, or a recovery code', testid: 'two-step-disable-code', required: true });
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'two-step-disable-form' },
    h('h3', {}, 'Turn off'),
    hiddenUsername(getMe()?.identifier),
    pw.wrap,
    code.wrap,
    h('button', { type: 'submit', class: 'btn btn-danger-outline', testid: 'two-step-disable' }, 'Turn off two-step verification'),
  );
  onSubmit(form, ctx.alert, async () => {
    const value = code.input.value.trim();
    const proof = /^\d{6}$/.test(value.replace(/\s/g, '')) ? { code: value } : { recovery_code: value };
    await secondFactor.disableTotp(pw.input.value, proof);
    showAlert(ctx.alert, 'success', 'Two-step verification is off.');
    await ctx.refresh();
  });
  return form;
}
