// api.js — fetch wrapper for the Kankan JSON API: same-origin cookies, CSRF header, error decoding
// into ApiError, and one typed function per endpoint the app uses.

/** Error thrown for any failed API call. `status` 0 means the network failed. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null, body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from the Retry-After header (429)
    this.body = body;
  }
}

const unauthenticatedListeners = new Set();

/** Calls `fn(err)` whenever the server answers 401 `unauthenticated` (session gone). */
export function onUnauthenticated(fn) {
  unauthenticatedListeners.add(fn);
  return () => unauthenticatedListeners.delete(fn);
}

/** The current CSRF token, read fresh from the `kankan_csrf` cookie. */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)kankan_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : null;
}

function parseRetryAfter(value) {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

function fallbackMessage(status) {
  if (status === 401) return 'Please log in again.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'Not found.';
  if (status === 413) return 'That file is too large.';
  if (status === 429) return 'Too many attempts. Please wait a moment and try again.';
  if (status >= 500) return 'Something went wrong on the server. Please try again.';
  return `Request failed (${status}).`;
}

/**
 * Performs one API request. `json` is sent as a JSON body; `body` is sent as-is (with `type` as
 * its Content-Type). Resolves to the decoded JSON body, or null for empty responses.
 */
export async function request(method, path, { json, body, type } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    if (type) headers['Content-Type'] = type;
    init.body = body;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }

  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', "Can't reach your Kankan server. Check your connection and try again.");
  }

  if (res.ok) {
    if (res.status === 204) return null;
    const text = await res.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'bad-response', 'The server sent an unexpected response.');
    }
  }

  let data = null;
  try {
    data = await res.json();
  } catch {
    /* non-JSON error body: fall back to a generic message */
  }
  const err = new ApiError(
    res.status,
    (data && data.code) || `http-${res.status}`,
    (data && data.message) || fallbackMessage(res.status),
    parseRetryAfter(res.headers.get('Retry-After')),
    data,
  );
  if (res.status === 401 && err.code === 'unauthenticated') {
    for (const fn of unauthenticatedListeners) fn(err);
  }
  throw err;
}

const V1 = '/api/v1';
const post = (path, json) => request('POST', V1 + path, { json });

/** Authentication endpoints (no session needed). */
export const auth = {
  register: (identifier, password) => post('/auth/register', { identifier, password }),
  verify: (identifier, code) => post('/auth/register/verify', { identifier, code }),
  login: (identifier, password) => post('/auth/login', { identifier, password }),
  logout: () => request('POST', `${V1}/auth/logout`),
  requestReset: (identifier) => post('/auth/password-reset', { identifier }),
  confirmReset: (identifier, code, newPassword) =>
    post('/auth/password-reset/confirm', { identifier, code, new_password: newPassword }),
};

/** The signed-in account's own endpoints. */
export const account = {
  me: () => request('GET', `${V1}/me`),
  updateProfile: (fields) => request('PATCH', `${V1}/me`, { json: fields }),
  uploadAvatar: (file) => request('PUT', `${V1}/me/avatar`, { body: file, type: file.type }),
  changePassword: (currentPassword, newPassword) =>
    post('/me/password', { current_password: currentPassword, new_password: newPassword }),
  sessions: () => request('GET', `${V1}/me/sessions`),
  revokeSession: (id) => request('DELETE', `${V1}/me/sessions/${encodeURIComponent(id)}`),
  logins: () => request('GET', `${V1}/me/logins`),
};
