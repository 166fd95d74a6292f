// state.js — small in-memory app state: the signed-in account, the pending sign-up being
// verified, the pending password reset, and where to go after logging in.

/** Where logged-in users land. */
export const HOME = '#/devices';

let me = null;
const meListeners = new Set();

/** The signed-in account (the API's Me object), or null when logged out. */
export function getMe() {
  return me;
}

/** Replaces the signed-in account and notifies listeners. */
export function setMe(next) {
  me = next || null;
  for (const fn of meListeners) fn(me);
}

/** Calls `fn(me)` whenever the signed-in account changes. */
export function onMeChange(fn) {
  meListeners.add(fn);
  return () => meListeners.delete(fn);
}

// Session storage keeps the identifier and resend cooldowns across a reload; the password for a
// pending sign-up stays in memory only (needed to re-post register for "resend code").
function load(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}
function save(key, value) {
  try {
    if (value == null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage unavailable (private mode): state just won't survive a reload */
  }
}

let signupPassword = null;

/** The sign-up waiting for its code: `{identifier, resendAt, password}` or null. */
export const signup = {
  get() {
    const stored = load('kankan.signup');
    if (!stored) return null;
    return { ...stored, password: signupPassword };
  },
  set({ identifier, password = signupPassword, resendAt = 0 }) {
    signupPassword = password || null;
    save('kankan.signup', { identifier, resendAt });
  },
  clear() {
    signupPassword = null;
    save('kankan.signup', null);
  },
};

/** The password reset in progress: `{identifier, resendAt}` or null. */
export const reset = {
  get: () => load('kankan.reset'),
  set: (value) => save('kankan.reset', value),
  clear: () => save('kankan.reset', null),
};

/** Where to return after logging in (the protected route the user first asked for). */
export const nextRoute = {
  set: (hash) => save('kankan.next', hash),
  take() {
    const hash = load('kankan.next');
    save('kankan.next', null);
    return hash;
  },
  /** The hash to open right after logging in: the remembered route, else HOME. */
  afterLogin() {
    const hash = nextRoute.take();
    return hash && hash.startsWith('#/') && !/^#\/(login|register|verify|reset)\b/.test(hash) ? hash : HOME;
  },
};
