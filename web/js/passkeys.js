// passkeys.js — passkeys (WebAuthn) in the web app: the base64url <-> ArrayBuffer conversions
// between the server's JSON options and navigator.credentials, the "Passkeys" card of Me →
// Account and Security (add, list with names and last use, rename, remove) and the login page's
// "Sign in with a passkey".

import { request } from './api.js';
import { secondStepHooks } from './second-factor.js';
import {
  h, passwordField, hiddenUsername, alertBox, showAlert, showError, onSubmit, busy, formatDateTime,
  confirmDialog, field,
} from './ui.js';

/** base64url (padded or not) → ArrayBuffer. */
export function toBuffer(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** ArrayBuffer (or view) → base64url without padding. */
export function toBase64url(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const descriptors = (list) => (list || []).map((d) => ({ ...d, id: toBuffer(d.id) }));

/** The server's creation options (JSON) → `publicKey` for navigator.credentials.create. */
export function creationOptions(json) {
  return {
    ...json,
    challenge: toBuffer(json.challenge),
    user: { ...json.user, id: toBuffer(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

/** The server's request options (JSON) → `publicKey` for navigator.credentials.get. */
export function requestOptions(json) {
  return { ...json, challenge: toBuffer(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

/** A PublicKeyCredential → the JSON the server takes (`toJSON()` where the browser has it). */
export function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  return { id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type, response, clientExtensionResults: {} };
}

/** Whether this browser can use passkeys. */
export const supported = () => typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;

/** Asks the authenticator for an assertion for request options `options` (the server's JSON). */
export async function assertion(options) {
  const cred = await navigator.credentials.get({ publicKey: requestOptions(options), mediation: 'optional' });
  return credentialJSON(cred);
}

const api = {
  options: (password) => request('POST', '/api/v1/me/passkeys/options', { json: { current_password: password } }),
  add: (challengeId, credential, name) =>
    request('POST', '/api/v1/me/passkeys', { json: { challenge_id: challengeId, credential, name } }),
  list: () => request('GET', '/api/v1/me/passkeys'),
  rename: (id, name) => request('PATCH', `/api/v1/me/passkeys/${id}`, { json: { name } }),
  remove: (id) => request('DELETE', `/api/v1/me/passkeys/${id}`),
  loginOptions: () => request('POST', '/api/v1/auth/passkey/options', { json: {} }),
  login: (challengeId, credential) =>
    request('POST', '/api/v1/auth/passkey/login', { json: { challenge_id: challengeId, credential } }),
};

function ceremonyMessage(err) {
  if (err && err.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
  if (err && err.name === 'InvalidStateError') return 'This device already holds a passkey for your account.';
  return null;
}

/** Me → Account and Security: the "Passkeys" card. */
export function passkeysCard(me) {
  const alert = alertBox('passkeys-alert');
  const list = h('ul', { class: 'list', testid: 'passkeys-list' });
  const name = field({ label: 'Name of the passkey', testid: 'passkey-name', value: 'My passkey', maxlength: 64, required: true });
  const password = passwordField({ label: 'Your password', testid: 'passkey-password', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'passkey-add-form' },
    hiddenUsername(me?.identifier),
    name.wrap,
    password.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'passkey-add' }, 'Add a passkey'),
  );

  async function refresh() {
    const keys = await api.list();
    list.replaceChildren(
      ...(keys.length
        ? keys.map((k) => row(k))
        : [h('li', { class: 'muted', testid: 'passkeys-empty' }, 'No passkeys yet.')]),
    );
  }

  function row(k) {
    const used = k.last_used_at_ms ? `last used ${formatDateTime(new Date(k.last_used_at_ms).toISOString())}` : 'never used';
    const rename = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'passkey-rename' }, 'Rename');
    const remove = h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', testid: 'passkey-remove' }, 'Remove');
    rename.addEventListener('click', () =>
      busy(rename, async () => {
        const next = window.prompt('New name of the passkey', k.name);
        if (!next) return;
        try {
          await api.rename(k.id, next);
          await refresh();
        } catch (err) {
          showError(alert, err);
        }
      }),
    );
    remove.addEventListener('click', () =>
      busy(remove, async () => {
        const sure = await confirmDialog({
          title: 'Remove this passkey?',
          text: `"${k.name}" will no longer sign in to your account.`,
          confirmLabel: 'Remove',
          danger: true,
          testid: 'passkey-remove-confirm',
        });
        if (!sure) return;
        try {
          await api.remove(k.id);
          await refresh();
        } catch (err) {
          showError(alert, err);
        }
      }),
    );
    return h(
      'li',
      { class: 'list-row', testid: 'passkey-row', 'data-id': k.id },
      h('div', {}, h('strong', { testid: 'passkey-row-name' }, k.name), h('p', { class: 'muted', testid: 'passkey-row-used' }, used)),
      h('div', { class: 'row-actions' }, rename, remove),
    );
  }

  onSubmit(form, alert, async () => {
    if (!supported()) {
      showAlert(alert, 'error', 'This browser cannot use passkeys.');
      return;
    }
    if (!password.input.value) {
      showAlert(alert, 'error', 'Enter your password to add a passkey.');
      password.input.focus();
      return;
    }
    const o = await api.options(password.input.value);
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: creationOptions(o.public_key) });
    } catch (err) {
      showAlert(alert, 'error', ceremonyMessage(err) || String(err.message || err));
      return;
    }
    await api.add(o.challenge_id, credentialJSON(cred), name.input.value.trim());
    password.input.value = '';
    showAlert(alert, 'success', 'Passkey added. You can now sign in with it alone.');
    await refresh();
  });

  refresh().catch((err) => showError(alert, err));
  return h(
    'div',
    { class: 'card', testid: 'passkeys-card' },
    h('h2', { class: 'card-title' }, 'Passkeys'),
    h('p', { class: 'muted' }, 'A passkey signs you in with your device’s screen lock or a security key instead of your password. Kankan keeps only its public key.'),
    alert,
    list,
    form,
  );
}

/** The login page's "Sign in with a passkey": `done(res)` gets what a login answers. */
export function passkeyLoginButton(alert, done) {
  const button = h('button', { type: 'button', class: 'btn btn-secondary btn-block', testid: 'login-passkey' }, 'Sign in with a passkey');
  button.addEventListener('click', () =>
    busy(button, async () => {
      if (!supported()) {
        showAlert(alert, 'error', 'This browser cannot use passkeys.');
        return;
      }
      try {
        const o = await api.loginOptions();
        let cred;
        try {
          cred = await assertion(o.public_key);
        } catch (err) {
          showAlert(alert, 'error', ceremonyMessage(err) || String(err.message || err));
          return;
        }
        done(await api.login(o.challenge_id, cred));
      } catch (err) {
        showError(alert, err);
      }
    }),
  );
  return button;
}

/** The login's second step: "Use a passkey" when the account has one. */
secondStepHooks.push(({ methods, ticket, finish, alert }) => {
  if (!methods.includes('passkey')) return null;
  const button = h('button', { type: 'button', class: 'btn btn-secondary btn-block', testid: 'login-2fa-passkey' }, 'Use a passkey');
  button.addEventListener('click', () =>
    busy(button, async () => {
      if (!supported()) {
        showAlert(alert, 'error', 'This browser cannot use passkeys.');
        return;
      }
      try {
        const o = await request('POST', '/api/v1/auth/second-factor/passkey-options', { json: { ticket } });
        let cred;
        try {
          cred = await assertion(o.public_key);
        } catch (err) {
          showAlert(alert, 'error', ceremonyMessage(err) || String(err.message || err));
          return;
        }
        await finish({ passkey: cred });
      } catch (err) {
        showError(alert, err);
      }
    }),
  );
  return button;
});
