// second-factor.js — the two-step login's API calls: the login's second step and managing
// the account's second factor (authenticator app, recovery codes, remembered devices).

import { request } from './api.js';

const V1 = '/api/v1';

export const secondFactor = {
  /** Finish a login that answered `{ticket, methods}`: `proof` is `{totp}` or `{recovery_code}` (or W's `{passkey}`). */
  finish: (ticket, proof, rememberDevice) =>
    request('POST', `${V1}/auth/second-factor`, { json: { ticket, ...proof, remember_device: !!rememberDevice } }),
  status: () => request('GET', `${V1}/me/second-factor`),
  startTotp: (password) => request('POST', `${V1}/me/second-factor/totp`, { json: { password } }),
  confirmTotp: (code) => request('POST', `${V1}/me/second-factor/totp/confirm`, { json: { code } }),
  disableTotp: (password, proof) => request('POST', `${V1}/me/second-factor/totp/disable`, { json: { password, ...proof } }),
  regenerate: (password) => request('POST', `${V1}/me/second-factor/recovery-codes`, { json: { password } }),
  forgetDevices: () => request('DELETE', `${V1}/me/second-factor/devices`),
};

/** Hooks other modules add to the login's second step (passkeys: `{ methods, ticket, finish }` → a button or null). */
export const secondStepHooks = [];
