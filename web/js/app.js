// app.js — entry point: registers the service worker, loads the signed-in account, defines the
// hash routes and renders each page into <main> inside the right shell (auth card or app nav).

import { account, auth, onUnauthenticated, onPolicyRequired } from './api.js';
import { HOME, getMe, setMe, nextRoute, onMeChange } from './state.js';
import { blockedByPolicy, refreshNotices, setAcceptanceRequired } from './notices.js';
import { startRouter, navigate } from './router.js';
import { h, toast, flash } from './ui.js';
import { icon, hydrateIcons } from './icons.js';
import { startEventsStream } from './events-stream.js';
import { startRingScreen } from './ring.js';
import { staffToken } from './console-api.js';
import { consoleShell } from './console-shell.js';

// guest: only for logged-out users (logged-in users are sent HOME). tab: highlighted nav tab.
// staff: a page of the staff console (#/console/...): needs a staff session in this tab
// (console-api.js), not a user's; it has its own shell.
const ROUTES = {
  '/login': { page: () => import('./pages/login.js'), guest: true },
  '/register': { page: () => import('./pages/register.js'), guest: true },
  '/verify': { page: () => import('./pages/verify.js'), guest: true },
  '/reset': { page: () => import('./pages/reset.js'), guest: true },
  '/devices': { page: () => import('./pages/devices.js'), tab: 'devices' },
  '/devices/add': { page: () => import('./pages/device-add.js'), tab: 'devices' },
  '/devices/add-rtsp': { page: () => import('./pages/device-add-rtsp.js'), tab: 'devices' },
  '/devices/:uid': { page: () => import('./pages/device.js'), tab: 'devices' },
  '/devices/:uid/live': { page: () => import('./pages/live.js'), tab: 'devices' },
  '/devices/:uid/playback': { page: () => import('./pages/playback.js'), tab: 'devices' },
  '/devices/:uid/card': { page: () => import('./pages/card.js'), tab: 'devices' },
  '/devices/:uid/share': { page: () => import('./pages/share.js'), tab: 'devices' },
  '/devices/:uid/plan': { page: () => import('./pages/plan.js'), tab: 'devices' },
  '/invite/:token': { page: () => import('./pages/invite.js'), tab: 'devices', invite: true },
  '/scan': { page: () => import('./pages/scan.js'), tab: 'devices' },
  '/live': { page: () => import('./pages/live-grid.js'), tab: 'devices' },
  '/messages': { page: () => import('./pages/messages.js'), tab: 'messages' },
  '/album': { page: () => import('./pages/album.js'), tab: 'album' },
  '/faces': { page: () => import('./pages/faces.js'), tab: 'me' },
  '/orders': { page: () => import('./pages/orders.js'), tab: 'me' },
  '/orders/:id': { page: () => import('./pages/orders.js'), tab: 'me' },
  '/me': { page: () => import('./pages/me.js'), tab: 'me' },
  '/me/sessions': { page: () => import('./pages/sessions.js'), tab: 'me' },
  '/me/data-access': { page: () => import('./pages/data-access.js'), tab: 'me' },
  '/me/notifications': { page: () => import('./pages/notifications.js'), tab: 'me' },
  '/me/privacy': { page: () => import('./pages/privacy.js'), tab: 'me' },
  '/announcements': { page: () => import('./pages/announcements.js'), tab: 'me' },
  '/policy-update': { page: () => import('./pages/policy-update.js'), tab: 'me' },
  // Signed in or out.
  '/about': { page: () => import('./pages/about.js'), tab: 'me', any: true },
  '/guardian': { page: () => import('./pages/guardian.js'), guest: true },
  '/me/account': { page: () => import('./pages/account-security.js'), tab: 'me' },
  // Signed in or out: the receipt is found by its code.
  '/deletion-receipt': { page: () => import('./pages/receipt.js'), any: true },
  '/deletion-receipt/:code': { page: () => import('./pages/receipt.js'), any: true },
  '/me/exports': { page: () => import('./pages/exports.js'), tab: 'me' },
  // The staff console (its own shell: console-shell.js).
  '/console/login': { page: () => import('./pages/console-login.js'), staff: true, guestStaff: true },
  '/console/accounts': { page: () => import('./pages/console-accounts.js'), staff: true },
  '/console/accounts/:id': { page: () => import('./pages/console-accounts.js'), staff: true },
  '/console/devices': { page: () => import('./pages/console-devices.js'), staff: true },
  '/console/devices/:uid': { page: () => import('./pages/console-devices.js'), staff: true },
  '/console/firmware': { page: () => import('./pages/console-firmware.js'), staff: true },
  '/console/announcements': { page: () => import('./pages/console-announcements.js'), staff: true },
  '/console/requests': { page: () => import('./pages/console-requests.js'), staff: true },
  '/console/requests/:id': { page: () => import('./pages/console-requests.js'), staff: true },
  '/console/audit': { page: () => import('./pages/console-audit.js'), staff: true },
  '/console/staff': { page: () => import('./pages/console-staff.js'), staff: true },
  // The help center: signed in or out.
  '/help': { page: () => import('./pages/help.js'), tab: 'me', any: true },
  '/help/:slug': { page: () => import('./pages/help-article.js'), tab: 'me', any: true },
  '/console/help': { page: () => import('./pages/console-help.js'), staff: true },
  '/console/ratings': { page: () => import('./pages/console-ratings.js'), staff: true },
  '/support': { page: () => import('./pages/support.js'), tab: 'me' },
  '/support/new': { page: () => import('./pages/support-new.js'), tab: 'me' },
  '/support/:id': { page: () => import('./pages/support-ticket.js'), tab: 'me' },
  '/console/tickets': { page: () => import('./pages/console-tickets.js'), staff: true },
  '/console/tickets/:id': { page: () => import('./pages/console-ticket.js'), staff: true },
};

function guard(route, loc) {
  const me = getMe();
  if (route.any) return null;
  if (route.staff) return route.guestStaff || staffToken() ? null : '#/console/login';
  if (route.guest && me) return HOME;
  // A major privacy policy version waits: only its notice and the reachable pages open.
  if (me && !route.guest && blockedByPolicy(loc.path)) return '#/policy-update';
  if (!route.guest && !me) {
    nextRoute.set(location.hash);
    // An invitation link opened signed out: log in (or sign up), then back to it.
    if (route.invite) flash.set('info', 'Log in, or sign up, to see the invitation. You come back to it afterwards.');
    return '#/login';
  }
  return null;
}

function setShell(route) {
  const nav = document.getElementById('nav');
  const app = route.staff ? false : route.any ? Boolean(getMe()) : !route.guest;
  nav.hidden = !app;
  document.body.classList.toggle('shell-app', app);
  document.body.classList.toggle('shell-auth', !app && !route.staff);
  document.body.classList.toggle('shell-console', Boolean(route.staff));
  for (const link of nav.querySelectorAll('[data-tab]')) {
    if (link.dataset.tab === route.tab) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function problemView({ title, text, testid, onRetry }) {
  return h(
    'div',
    { class: 'problem', testid },
    h('div', { class: 'empty-art' }, icon('cloudOff', 40)),
    h('h1', { class: 'empty-title' }, title),
    h('p', { class: 'empty-text' }, text),
    h('button', { type: 'button', class: 'btn btn-primary', testid: `${testid}-retry`, onclick: onRetry }, 'Try again'),
  );
}

let leaveFns = [];

function leavePage() {
  for (const fn of leaveFns) {
    try {
      fn();
    } catch (err) {
      console.error(err);
    }
  }
  leaveFns = [];
}

async function onRoute(route, loc, isCurrent) {
  const main = document.getElementById('main');
  let mod;
  try {
    mod = await route.page();
  } catch (err) {
    console.error(err);
    if (!isCurrent()) return;
    leavePage();
    main.replaceChildren(
      problemView({
        title: "This page didn't load",
        text: 'Kankan could not load this screen. Check your connection and try again.',
        testid: 'page-error',
        onRetry: () => location.reload(),
      }),
    );
    return;
  }
  if (!isCurrent()) return;
  leavePage();
  setShell(route);
  const mine = [];
  const ctx = {
    path: loc.path,
    query: loc.query,
    params: loc.params || {},
    navigate,
    onLeave: (fn) => mine.push(fn),
    isCurrent,
  };
  const page = mod.render(ctx);
  // Every console page but its sign-in sits in the console's layout (nav by role).
  const node = route.staff && !route.guestStaff ? consoleShell(page, ctx) : page;
  leaveFns = mine;
  main.replaceChildren(node);
  document.title = mod.title ? `${mod.title} · Kankan` : 'Kankan';
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('sw.js').catch((err) => console.warn('service worker:', err));
  });
  // A click on a push notification while the app is open (sw.js): go to the event.
  navigator.serviceWorker.addEventListener('message', (event) => {
    const msg = event.data || {};
    if (msg.type === 'open' && typeof msg.url === 'string' && msg.url.startsWith('#/')) navigate(msg.url);
  });
}

async function loadMe() {
  try {
    const me = await account.me();
    // A session left in the cancellation window (logged in, "Continue login" not chosen):
    // end it, so that logging in again offers the choice.
    if ((await account.cancellation()).state === 'cancelling') {
      await auth.logout().catch(() => {});
      setMe(null);
      return true;
    }
    setMe(me);
    return true;
  } catch (err) {
    if (err.status === 401) {
      setMe(null);
      return true;
    }
    const offline = err.status === 0;
    document.body.classList.remove('booting');
    document.getElementById('main').replaceChildren(
      problemView({
        title: offline ? "You're offline" : 'Kankan is having trouble',
        text: offline
          ? "Can't reach your Kankan server right now. Check your connection and try again."
          : err.message,
        testid: offline ? 'offline' : 'boot-error',
        onRetry: () => location.reload(),
      }),
    );
    return false;
  }
}

async function boot() {
  registerServiceWorker();
  hydrateIcons(document.getElementById('nav'));

  // The skip link must not change the hash (that would be a route change).
  document.querySelector('[data-skip]')?.addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });

  onUnauthenticated(() => {
    if (!getMe()) return;
    setMe(null);
    toast('Your session has ended. Please log in again.');
    nextRoute.set(location.hash);
    navigate('#/login', { replace: true });
  });

  // The server closed the app until the new privacy policy is accepted.
  onPolicyRequired(() => {
    setAcceptanceRequired(true);
    if (!location.hash.startsWith('#/policy-update')) navigate('#/policy-update', { replace: true });
  });

  // The live events (Message Center, ring screen) follow the signed-in account.
  startRingScreen();
  startEventsStream();
  if (!(await loadMe())) return;
  document.body.classList.remove('booting');
  try {
    await refreshNotices();
  } catch (err) {
    console.warn('notices:', err);
  }
  // Signing in (or out) asks where the account stands with the policy and what is new.
  onMeChange((me) => {
    refreshNotices()
      .then((required) => {
        if (me && required && !location.hash.startsWith('#/policy-update')) navigate('#/policy-update', { replace: true });
      })
      .catch((err) => console.warn('notices:', err));
  });
  startRouter({ routes: ROUTES, guard, onRoute, fallback: HOME });
}

boot();
