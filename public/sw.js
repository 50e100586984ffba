// Parley's service worker: keeps the last copy of every page and of the wasm bundle, so a
// reload while offline still opens the page, with its unsent messages from the outbox.
// Network first, always: the cache is only a fallback. Signing out empties it.
const CACHE = 'parley-pages-v1';
const SHELL = ['/pkg/parley.js', '/pkg/parley.wasm', '/pkg/parley.css', '/favicon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    await self.clients.claim();
    // Pages open before this worker took over were not fetched through it.
    const cache = await caches.open(CACHE);
    const open = await self.clients.matchAll({ type: 'window' });
    await Promise.all([...SHELL, ...open.map((c) => c.url)].map(async (url) => {
      try {
        const response = await fetch(url, { credentials: 'same-origin' });
        if (response.ok && !response.redirected) await cache.put(url, response);
      } catch (_) { /* offline already: nothing to keep */ }
    }));
  })());
});

function cacheable(url) {
  if (url.origin !== self.location.origin) return false;
  const path = url.pathname;
  return !(path === '/ws' || path.startsWith('/events') || path.startsWith('/api/')
    || path.startsWith('/auth/') || path === '/sw.js');
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || !cacheable(url)) return;
  event.respondWith((async () => {
    try {
      const response = await fetch(request);
      const landedOnLogin = new URL(response.url || request.url).pathname === '/login';
      if (landedOnLogin) {
        // Signed out (or never signed in): forget every page kept for the last user.
        await caches.delete(CACHE);
      } else if (response.ok && response.type === 'basic') {
        const cache = await caches.open(CACHE);
        await cache.put(request, response.clone());
      }
      return response;
    } catch (error) {
      const cached = await caches.match(request);
      if (cached) return cached;
      throw error;
    }
  })());
});
