// sw.js — service worker: precaches the app shell so Kankan starts offline, serves shell files
// network-first (falls back to the cache), and never caches or intercepts /api/ requests or
// recorded media (/media/: footage stays out of the cache). It also shows web push messages
// (an event: title, text, thumbnail) as notifications, and a click on one opens the app at
// the event's moment.

const CACHE = 'kankan-shell-v14';

const SHELL = [
  './',
  'index.html',
  'app.css',
  'events.css',
  'share.css',
  'privacy.css',
  'console.css',
  'manifest.webmanifest',
  'icons/icon.svg',
  'icons/icon-192.png',
  'icons/icon-512.png',
  'icons/icon-maskable-512.png',
  'js/api.js',
  'js/app.js',
  'js/console-api.js',
  'js/console-shell.js',
  'js/device-commands.js',
  'js/device-ui.js',
  'js/event-ui.js',
  'js/events-stream.js',
  'js/icons.js',
  'js/live.js',
  'js/markdown.js',
  'js/media.js',
  'js/notices.js',
  'js/notify-ui.js',
  'js/pages/about.js',
  'js/pages/account-security.js',
  'js/pages/album.js',
  'js/pages/announcements.js',
  'js/pages/card.js',
  'js/pages/console-accounts.js',
  'js/pages/console-announcements.js',
  'js/pages/console-audit.js',
  'js/pages/console-devices.js',
  'js/pages/console-firmware.js',
  'js/pages/console-help.js',
  'js/pages/console-login.js',
  'js/pages/console-ratings.js',
  'js/pages/console-requests.js',
  'js/pages/console-staff.js',
  'js/pages/console-ticket.js',
  'js/pages/console-tickets.js',
  'js/pages/data-access.js',
  'js/pages/device-add-rtsp.js',
  'js/pages/device-add.js',
  'js/pages/device-ai.js',
  'js/pages/device-controls.js',
  'js/pages/device-firmware.js',
  'js/pages/device-motion.js',
  'js/pages/device-network.js',
  'js/pages/device-settings.js',
  'js/pages/device.js',
  'js/pages/devices.js',
  'js/pages/exports.js',
  'js/pages/faces.js',
  'js/pages/guardian.js',
  'js/pages/help-article.js',
  'js/pages/help-rate.js',
  'js/pages/help.js',
  'js/pages/invite.js',
  'js/pages/live-extras.js',
  'js/pages/live-grid.js',
  'js/pages/live.js',
  'js/pages/login-second-factor.js',
  'js/pages/login.js',
  'js/pages/me.js',
  'js/pages/message-detail.js',
  'js/pages/messages.js',
  'js/pages/notifications.js',
  'js/pages/orders.js',
  'js/pages/plan.js',
  'js/pages/playback.js',
  'js/pages/policy-update.js',
  'js/pages/privacy.js',
  'js/pages/receipt.js',
  'js/pages/register.js',
  'js/pages/reset.js',
  'js/pages/scan.js',
  'js/pages/sessions.js',
  'js/pages/share-members.js',
  'js/pages/share.js',
  'js/pages/support-new.js',
  'js/pages/support-ticket.js',
  'js/pages/support.js',
  'js/pages/two-step.js',
  'js/pages/verify.js',
  'js/passkeys.js',
  'js/ring.js',
  'js/router.js',
  'js/schedule-editor.js',
  'js/second-factor.js',
  'js/sharing-ui.js',
  'js/state.js',
  'js/talk.js',
  'js/time-zones.js',
  'js/timeline.js',
  'js/ui.js',
  'js/webrtc.js',
  'js/zone-editor.js',
];

const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('kankan-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isApi(url) {
  return url.pathname === '/api' || url.pathname.startsWith('/api/');
}

function isMedia(url) {
  return url.pathname.startsWith('/media/');
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), NETWORK_TIMEOUT_MS)),
    ]);
    if (response.ok && response.type === 'basic') cache.put(request, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    if (request.mode === 'navigate') {
      const shell = await cache.match('index.html');
      if (shell) return shell;
    }
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isApi(url) || isMedia(url)) return; // straight to the network
  event.respondWith(networkFirst(request));
});

// ---- Web push ----

/** A same-app route ("#/…") from a push message, else the Message Center. */
function appRoute(url) {
  return typeof url === 'string' && url.startsWith('#/') ? url : '#/messages';
}

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const options = {
    body: data.body || '',
    icon: 'icons/icon-192.png',
    badge: 'icons/icon-192.png',
    data: { url: appRoute(data.url), event_id: data.event_id || null, device: data.device || null },
  };
  if (data.thumbnail) options.image = data.thumbnail;
  if (data.event_id) {
    options.tag = data.event_id; // an update of the same event replaces its notification
    options.renotify = data.kind === 'press';
  }
  if (Number.isFinite(data.at_ms)) options.timestamp = data.at_ms;
  if (data.kind === 'press') options.requireInteraction = true;
  event.waitUntil(self.registration.showNotification(data.title || 'Kankan', options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const route = appRoute(event.notification.data && event.notification.data.url);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((c) => new URL(c.url).origin === self.location.origin);
      if (open) {
        // The app navigates itself (js/app.js listens for this message).
        open.postMessage({ type: 'open', url: route });
        return open.focus();
      }
      return self.clients.openWindow(new URL(route, self.registration.scope).href);
    })(),
  );
});
