// sw.js — service worker: precaches the app shell so Kankan starts offline, serves shell files
// network-first (falls back to the cache), and never caches or intercepts /api/ requests or
// recorded media (/media/: footage stays out of the cache).

const CACHE = 'kankan-shell-v7';

const SHELL = [
  './',
  'index.html',
  'app.css',
  'manifest.webmanifest',
  'icons/icon.svg',
  'icons/icon-192.png',
  'icons/icon-512.png',
  'icons/icon-maskable-512.png',
  'js/app.js',
  'js/api.js',
  'js/device-commands.js',
  'js/device-ui.js',
  'js/icons.js',
  'js/live.js',
  'js/media.js',
  'js/router.js',
  'js/state.js',
  'js/talk.js',
  'js/timeline.js',
  'js/ui.js',
  'js/webrtc.js',
  'js/pages/album.js',
  'js/pages/device-add-rtsp.js',
  'js/pages/device-add.js',
  'js/pages/device-controls.js',
  'js/pages/device-settings.js',
  'js/pages/device.js',
  'js/pages/devices.js',
  'js/pages/live-extras.js',
  'js/pages/live-grid.js',
  'js/pages/live.js',
  'js/pages/login.js',
  'js/pages/me.js',
  'js/pages/messages.js',
  'js/pages/playback.js',
  'js/pages/register.js',
  'js/pages/reset.js',
  'js/pages/sessions.js',
  'js/pages/verify.js',
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
