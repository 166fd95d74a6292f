// console-api.js — the staff console's access to the admin API: the staff bearer token, kept in
// this tab's sessionStorage only (never a cookie, so a user's session and the console never
// mix), and one call helper. Console pages (pages/console-*.js) call `staffRequest`.

import { request, onStaffUnauthenticated } from './api.js';

const KEY = 'kankan_staff_token';

/** The staff session's bearer token, or null when no staff member is signed in in this tab. */
export function staffToken() {
  return sessionStorage.getItem(KEY);
}

export function setStaffToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function clearStaffToken() {
  sessionStorage.removeItem(KEY);
}

// An ended or revoked staff session: forget it and go to the console's sign-in.
onStaffUnauthenticated(() => {
  clearStaffToken();
  if (location.hash.startsWith('#/console') && !location.hash.startsWith('#/console/login')) {
    location.hash = '#/console/login';
  }
});

/** One admin API call as the signed-in staff member (`path` from `/api/v1/admin/...`). */
export function staffRequest(method, path, { json, body, type } = {}) {
  return request(method, path, { json, body, type, bearer: staffToken() || 'none' });
}
