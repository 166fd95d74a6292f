// api.js — fetch wrapper for the Kankan JSON API: same-origin cookies, CSRF header, error decoding
// into ApiError, and one typed function per endpoint the app uses.

/**
 * Error thrown for any failed API call: `message` is ready to show to the user (it already says
 * how long to wait after a 429). `status` 0 means the network failed.
 */
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
const staffUnauthenticatedListeners = new Set();

/** Calls `fn(err)` whenever a staff console call (one with a bearer token) answers 401. */
export function onStaffUnauthenticated(fn) {
  staffUnauthenticatedListeners.add(fn);
  return () => staffUnauthenticatedListeners.delete(fn);
}
const policyListeners = new Set();

/**
 * Calls `fn(err)` whenever the server answers 403 `policy-acceptance-required` (a major version
 * of the privacy policy waits to be accepted).
 */
export function onPolicyRequired(fn) {
  policyListeners.add(fn);
  return () => policyListeners.delete(fn);
}

/** Calls `fn(err)` whenever the server answers 401 `unauthenticated` (session gone). */
export function onUnauthenticated(fn) {
  unauthenticatedListeners.add(fn);
  return () => unauthenticatedListeners.delete(fn);
}

/** The current CSRF token, read fresh from the `kankan_csrf` cookie (`__Host-kankan_csrf` over HTTPS). */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)(?:__Host-)?kankan_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : null;
}

function parseRetryAfter(value) {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

/** "1 minute" / "5 minutes" for a wait in seconds (rounded up, at least 1 minute). */
function minutes(seconds) {
  const mins = Math.max(1, Math.ceil((seconds || 0) / 60));
  return mins === 1 ? '1 minute' : `${mins} minutes`;
}

/**
 * What to tell the user for the API's stable error codes. The server's own messages are terse
 * and lower-case ("the account or password is wrong"); they are shown only for codes whose
 * message carries specifics (why a password is weak, what is wrong with an identifier), as a
 * sentence.
 */
function friendlyMessage(code, retryAfter) {
  switch (code) {
    case 'invalid-credentials':
      return 'Wrong e-mail, phone number or password.';
    case 'invalid-code':
      return 'That code is wrong, expired or already used. Check it, or ask for a new one.';
    case 'account-not-verified':
      return 'This account is not verified yet. Enter the code we sent you, or sign up again.';
    case 'account-locked':
      return retryAfter != null
        ? `Too many failed logins. Try again in ${minutes(retryAfter)}, or reset your password.`
        : 'Too many failed logins. Try again later, or reset your password.';
    case 'too-many-requests':
      return retryAfter != null
        ? `Too many attempts. Try again in ${minutes(retryAfter)}.`
        : 'Too many attempts. Please wait a moment and try again.';
    case 'wrong-password':
      return 'Your current password is wrong.';
    case 'account-cancelling':
      return 'This account is being cancelled. Log in again and choose "Continue login" to use it.';
    case 'unauthenticated':
      return 'Please log in again.';
    case 'second-factor-enrolment-required':
      return 'This service requires two-step verification: set it up under Me → Account and Security.';
    case 'session-not-found':
      return 'That session has already ended.';
    case 'device-not-found':
      return 'That device is not in your account. It may have been removed.';
    case 'invitation-invalid':
      return 'This invitation is no longer valid: it was used, withdrawn or has expired, or it is meant for someone else. Ask for a new one.';
    case 'invitation-own':
      return 'This is your own invitation. Send it to the person you want to share with.';
    case 'rate-limited':
      return retryAfter != null
        ? `You have made many invitations lately. Try again in ${minutes(retryAfter)}.`
        : 'You have made many invitations lately. Try again later.';
    case 'policy-not-accepted':
      return 'Read the privacy policy and tick "I accept" to create your account.';
    case 'policy-acceptance-required':
      return 'The privacy policy changed. Read what changed and accept it to go on.';
    case 'guardian-required':
      return "Under the age shown, you need a guardian: enter your parent's or guardian's e-mail address or phone number.";
    case 'guardian-consent-pending':
      return 'Your guardian has not consented yet. They received a code: they enter it under "Guardian consent" on the login page.';
    case 'not-for-child-accounts':
      return "This can't be turned on for a child's account.";
    case 'capability-not-grantable':
      return 'Sharing onward and unbinding stay with the owner.';
    case 'payload-too-large':
      return 'That file is too large.';
    case 'unsupported-media-type':
      return 'Please choose a PNG or JPEG image.';
    case 'internal':
    case 'unavailable':
      return 'Something went wrong on the server. Please try again.';
    default:
      return null;
  }
}

/** "the code is wrong" -> "The code is wrong." */
function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
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
export async function request(method, path, { json, body, type, bearer } = {}) {
  const headers = { Accept: 'application/json' };
  // A staff console call carries its bearer token and no cookies (the user's session stays out).
  const init = { method, headers, credentials: bearer ? 'omit' : 'same-origin', cache: 'no-store' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    if (type) headers['Content-Type'] = type;
    init.body = body;
  }
  if (!bearer && method !== 'GET' && method !== 'HEAD') {
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
  const code = (data && data.code) || `http-${res.status}`;
  const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
  const message =
    friendlyMessage(code, retryAfter) || (data && data.message ? sentence(data.message) : fallbackMessage(res.status));
  const err = new ApiError(res.status, code, message, retryAfter, data);
  if (bearer) {
    if (res.status === 401) for (const fn of staffUnauthenticatedListeners) fn(err);
    throw err;
  }
  if (res.status === 401 && err.code === 'unauthenticated') {
    for (const fn of unauthenticatedListeners) fn(err);
  }
  if (res.status === 403 && err.code === 'policy-acceptance-required') {
    for (const fn of policyListeners) fn(err);
  }
  if (res.status === 403 && err.code === 'second-factor-enrolment-required' && location.hash !== '#/me/account') {
    // The operator requires two-step verification and this account has none yet.
    location.hash = '#/me/account';
  }
  throw err;
}

const V1 = '/api/v1';
const post = (path, json) => request('POST', V1 + path, { json });

/** Authentication endpoints (no session needed). */
export const auth = {
  /** `extra`: `{ accept_policy, under_age, guardian }`. */
  register: (identifier, password, extra = {}) => post('/auth/register', { identifier, password, ...extra }),
  /** A guardian consents for a child's account with their code, accepting `version`. */
  guardianConsent: (child, guardian, code, version) =>
    post('/auth/register/guardian', { child, guardian, code, accept_policy: version }),
  verify: (identifier, code, password) =>
    post('/auth/register/verify', password ? { identifier, code, password } : { identifier, code }),
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
  deleteLogins: () => request('DELETE', `${V1}/me/logins`),
  /** Cancel the account (password entered again); resolves to `{ends_at_ms}`. */
  cancel: (password) => post('/me/cancellation', { password }),
  cancellation: () => request('GET', `${V1}/me/cancellation`),
  /** "Continue login": ends the cancellation. */
  continueLogin: () => request('DELETE', `${V1}/me/cancellation`),
  /** A deletion receipt by the code its message carried (no login needed). */
  receipt: (code) => request('GET', `${V1}/deletion-receipts/${encodeURIComponent(code)}`),
  dataAccess: () => request('GET', `${V1}/me/data-access`),
  requests: () => request('GET', `${V1}/me/requests`),
  fileRequest: (kind, message) => request('POST', `${V1}/me/requests`, { json: { kind, message: message || null } }),
  supportGrants: () => request('GET', `${V1}/me/support-grants`),
  giveSupportGrant: (hours, devices) => request('POST', `${V1}/me/support-grants`, { json: { hours, devices } }),
  withdrawSupportGrant: (id) => request('DELETE', `${V1}/me/support-grants/${encodeURIComponent(id)}`),
};

/** The privacy policy and About (public), the account's consents, and announcements. */
export const privacy = {
  /** `{ version, major, published, changes, text, current }`; the version in force by default. */
  policy: (version) => request('GET', `${V1}/privacy/policy${version ? `?version=${encodeURIComponent(version)}` : ''}`),
  about: () => request('GET', `${V1}/about`),
  consents: () => request('GET', `${V1}/me/consents`),
  setConsent: (purpose, granted) =>
    request('PUT', `${V1}/me/consents/${encodeURIComponent(purpose)}`, { json: { granted } }),
  accept: (version) => post('/me/policy/accept', { version }),
  acknowledgeDisclaimer: () => post('/me/disclaimer'),
  announcements: () => request('GET', `${V1}/announcements`),
};

/**
 * Data exports ("Download my data"): `{ id, state: 'queued' | 'running' | 'ready' | 'failed' |
 * 'expired', progress: { done, total }, size_bytes, media, error, created_at_ms, ready_at_ms,
 * expires_at_ms }`, newest first. The ZIP downloads from `/api/v1/me/exports/{id}/download`.
 */
export const exportsApi = {
  list: () => request('GET', `${V1}/me/exports`),
  /** `media`: `{ album, event_clips, recordings: [{ uid, from_ms, to_ms }] }`. */
  start: (media) => post('/me/exports', { media }),
  remove: (id) => request('DELETE', `${V1}/me/exports/${encodeURIComponent(id)}`),
};

const dev = (uid) => `${V1}/devices/${encodeURIComponent(uid)}`;

/**
 * Devices bound to the account: pairing, adding RTSP cameras, the shadow (info and settings),
 * commands, unbinding.
 */
export const devices = {
  list: () => request('GET', `${V1}/devices`),
  get: (uid) => request('GET', dev(uid)),
  startPairing: (uid, ssid, wifiPassword) => post('/devices/pairings', { uid, ssid, wifi_password: wifiPassword }),
  /**
   * Adds an ordinary RTSP camera; the server probes it first (up to about 5 s). Resolves to the
   * new DeviceInfo. `username`/`password` are left out when empty.
   */
  addRtspCamera: ({ name, url, username, password }) =>
    post('/cameras/rtsp', { name, url, username: username || undefined, password: password || undefined }),
  rename: (uid, name) => request('PATCH', dev(uid), { json: { name } }),
  unbind: (uid) => request('DELETE', dev(uid)),
  /** Sends the full Settings object as the new desired settings; resolves to the DeviceInfo. */
  putSettings: (uid, settings) => request('PUT', `${dev(uid)}/settings`, { json: settings }),
  /** Resolves to a CommandInfo; `status` is still `sent` when the device did not answer in 5 s. */
  sendCommand: (uid, command) => request('POST', `${dev(uid)}/commands`, { json: command }),
  command: (uid, id) => request('GET', `${dev(uid)}/commands/${encodeURIComponent(id)}`),
  /** Moves an online camera to another Wi-Fi network; resolves to a CommandInfo. */
  setWifi: (uid, ssid, password) => request('POST', `${dev(uid)}/wifi`, { json: { ssid, password } }),
  /** A rejoin QR/sound code for the owner's camera that lost its network (a PairingResponse). */
  wifiCode: (uid, ssid, password) => request('POST', `${dev(uid)}/wifi/code`, { json: { ssid, password } }),
  /** The SD card's footage of `day` (YYYY-MM-DD, or the latest), its days and its state. */
  card: (uid, day) => request('GET', `${dev(uid)}/card${day ? `?day=${encodeURIComponent(day)}` : ''}`),
  /** Resolves to `{ installed, available: { version, size } | null, update: { version, phase,
   * percent, error, from_version } | null, auto_update }`. */
  firmware: (uid) => request('GET', `${dev(uid)}/firmware`),
  /** Installs the available firmware now; resolves to the same shape as `firmware`. */
  updateFirmware: (uid) => request('POST', `${dev(uid)}/firmware/update`),
};

/** Cloud-storage plans and 4G data: the catalogue, a camera's plan and SIM, checkouts. */
export const plans = {
  catalogue: () => request('GET', `${V1}/plans`),
  ofDevice: (uid) => request('GET', `${dev(uid)}/plan`),
  sim: (uid) => request('GET', `${dev(uid)}/sim`),
  /** Resolves to `{ order_id, redirect_url }`: send the buyer to the provider's page. */
  checkout: (uid, sku, provider, coupon) => request('POST', `${dev(uid)}/plan/checkout`, { json: { sku, provider, coupon: coupon || undefined } }),
  simCheckout: (uid, sku, provider) => request('POST', `${dev(uid)}/sim/checkout`, { json: { sku, provider } }),
};

/** Recordings: the timeline of a range, signed playback links, and the account's storage. */
export const recordings = {
  /** Resolves to `{ from_ms, to_ms, spans: [{ start_ms, end_ms }] }` for `[fromMs, toMs)`. */
  timeline: (uid, fromMs, toMs) =>
    request('GET', `${dev(uid)}/recordings/timeline?from=${Math.floor(fromMs)}&to=${Math.ceil(toMs)}`),
  /**
   * A media link for one purpose: 'playback' (recordings), 'live' (the live WebSocket and
   * WebRTC) or 'talk' (WebRTC with talk). Resolves to `{ token, purpose, media_base,
   * expires_at }`; the link ends with this session.
   */
  link: (uid, purpose) => request('POST', `${dev(uid)}/recordings/link`, { json: { purpose } }),
  storage: () => request('GET', `${V1}/me/storage`),
  /**
   * Deletes the recordings of `[fromMs, toMs)` (at most 31 days; the owner only). Resolves
   * to `{ segments, bytes }`.
   */
  deleteRange: (uid, fromMs, toMs) =>
    request('DELETE', `${dev(uid)}/recordings?from_ms=${Math.floor(fromMs)}&to_ms=${Math.ceil(toMs)}`),
};

/**
 * The Album: screenshots and clips saved from live view. Items are `{ id, kind: 'screenshot' |
 * 'clip', device, device_name, taken_at_ms, duration_ms, bytes, created_at, content_url }`; the
 * content URL works with the session cookie (an <img>, a <video>, a download link).
 */
export const album = {
  list: () => request('GET', `${V1}/album`),
  /** Saves the picture the camera streams now; fails with `not-live` when it does not. */
  screenshot: (uid) => post('/album/screenshots', { device: uid }),
  /** Saves the last `seconds` (1-60) of recorded footage; `no-recording` when there is none. */
  clip: (uid, seconds) => post('/album/clips', { device: uid, seconds }),
  remove: (id) => request('DELETE', `${V1}/album/${encodeURIComponent(id)}`),
};

/** Familiar faces: the gallery (named) and the strangers of the last two days. */
export const faces = {
  /** `{ enabled, gallery, strangers }`, each face `{ id, name, relation, sightings: [...] }`. */
  list: () => request('GET', `${V1}/faces`),
  /** The picture of the face's newest sighting (works with the session cookie in an <img>). */
  pictureUrl: (id) => `${V1}/faces/${encodeURIComponent(id)}/picture`,
  /** Names (or, with `name: null`, unnames) a face; `relation`: 'family', 'friend' or null. */
  name: (id, name, relation) => request('PUT', `${V1}/faces/${encodeURIComponent(id)}`, { json: { name, relation } }),
  remove: (id) => request('DELETE', `${V1}/faces/${encodeURIComponent(id)}`),
};

export const billing = {
  /** `{ orders: [...] }`, newest first; each `{ id, kind, sku, title, target_kind, target, amount, currency, status, ... }`. */
  orders: () => request('GET', `${V1}/orders`),
  order: (id) => request('GET', `${V1}/orders/${encodeURIComponent(id)}`),
  /** The plain-text receipt (works with the session cookie in a link). */
  receiptUrl: (id) => `${V1}/orders/${encodeURIComponent(id)}/receipt`,
  /** Redeems a code for a camera (`target_kind` 'device') or a SIM ('sim'): the paid order. */
  redeem: (code, target, targetKind) => request('POST', `${V1}/billing/redeem`, { json: { code, target, target_kind: targetKind } }),
};

/** `?a=1&b=2` from the entries of `params` that are not null, undefined or ''. */
function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value != null && value !== '') q.set(key, String(value));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const ev = (id) => `${V1}/events/${encodeURIComponent(id)}`;

/**
 * The Message Center. Items are `{ id, kind: 'motion' | 'press' | 'loiter' | 'tamper' | 'sound',
 * device, started_at_ms, ended_at_ms, zone, read, clip_from_ms, clip_to_ms, thumbnail, level_db,
 * duration_ms }` (the last two for sound events), newest first.
 */
export const events = {
  /** Filters: `device`, `kind`, `label` (`person`), `before_ms`, `after_ms`, `limit`, `q` (words of the AI description). */
  list: (filters = {}) => request('GET', `${V1}/events${query(filters)}`),
  /** The thumbnail's URL (works with the session cookie in an <img>). */
  thumbnailUrl: (id) => `${ev(id)}/thumbnail`,
  markRead: (id) => request('POST', `${ev(id)}/read`),
  remove: (id) => request('DELETE', ev(id)),
  /** `[{ channel, attempt, status, detail, at_ms }]`: how the notifications went out. */
  deliveries: (id) => request('GET', `${ev(id)}/deliveries`),
};

/** Notification preferences, web push subscriptions, per-camera kinds and snooze, webhooks. */
export const notify = {
  vapidKey: () => request('GET', `${V1}/push/vapid-public-key`),
  subscribe: (subscription) => post('/me/push-subscriptions', subscription),
  unsubscribe: (endpoint) => request('DELETE', `${V1}/me/push-subscriptions`, { json: { endpoint } }),
  /** `{ method, quiet_hours: null | { start, end }, time_zone }`. */
  settings: () => request('GET', `${V1}/me/notification-settings`),
  putSettings: (settings) => request('PUT', `${V1}/me/notification-settings`, { json: settings }),
  /** `{ kinds: [...], snoozed_until_ms }` of one camera. */
  device: (uid) => request('GET', `${dev(uid)}/notifications`),
  putDevice: (uid, value) => request('PUT', `${dev(uid)}/notifications`, { json: value }),
  /** `{ minutes: 30 }`, `{ minutes: 60 }` or `{ until: 'tomorrow' }`; resolves to `{ snoozed_until_ms }`. */
  snooze: (uid, body) => post(`/devices/${encodeURIComponent(uid)}/snooze`, body),
  unsnooze: (uid) => request('DELETE', `${dev(uid)}/snooze`),
  webhooks: () => request('GET', `${V1}/me/webhooks`),
  addWebhook: (url) => post('/me/webhooks', { url }),
  removeWebhook: (id) => request('DELETE', `${V1}/me/webhooks/${encodeURIComponent(id)}`),
};

/**
 * Sharing a camera with other accounts (the owner's side: invitations, members, their history
 * and the access log; the invitee's: preview and accept; a member's: leave). Capability names
 * are the API's: view, view-live, receive-alarms (every member), play-back, download, talk,
 * move-ptz, change-settings (the owner may add them).
 */
export const sharing = {
  /**
   * A new invitation to `devices` (UIDs). `boundTo` (an e-mail or phone) and `expiresInHours`
   * are left out when empty. Resolves to `{ id, token, link, qr_svg, expires_at_ms, devices }`.
   */
  invite: ({ devices: uids, boundTo, expiresInHours }) =>
    post('/shares', { devices: uids, bound_to: boundTo || undefined, expires_in_hours: expiresInHours || undefined }),
  /** The caller's pending invitations: `[{ id, devices: [{ uid, name }], bound, expires_at_ms, created_at_ms }]`. */
  pending: () => request('GET', `${V1}/shares`),
  revoke: (id) => request('DELETE', `${V1}/shares/${encodeURIComponent(id)}`),
  /** `{ inviter, devices: [{ name }], expires_at_ms }`: all an invitation tells before it is accepted. */
  preview: (token) => post('/invitations/preview', { token }),
  /** Resolves to `{ devices: [uid, …] }`. */
  accept: (token) => post('/invitations/accept', { token }),
  /** `[{ account, nickname, capabilities, until_ms?, schedule?, joined_at_ms }]`. */
  members: (uid) => request('GET', `${dev(uid)}/members`),
  /** `value` is `{ capabilities, until_ms?, schedule? }`; resolves to the member. */
  putMember: (uid, account, value) =>
    request('PUT', `${dev(uid)}/members/${encodeURIComponent(account)}`, { json: value }),
  removeMember: (uid, account) => request('DELETE', `${dev(uid)}/members/${encodeURIComponent(account)}`),
  /** The caller stops being a member of `uid`. */
  leave: (uid) => request('DELETE', `${dev(uid)}/membership`),
  /** `[{ at_ms, action: 'invited' | 'joined' | 'changed' | 'removed' | 'left', member? }]`. */
  history: (uid) => request('GET', `${dev(uid)}/members/history`),
  /** `[{ at_ms, account, nickname, kind: 'live' | 'playback' | 'download' | 'talk' }]`, newest first. */
  accessLog: (uid) => request('GET', `${dev(uid)}/access-log`),
};
