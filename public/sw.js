// Parley's service worker: keeps the last copy of every page and of the wasm bundle, so a
// reload while offline still opens the page, with its unsent messages from the outbox.
// Network first, always: the cache is only a fallback. Signing out empties it.
const CACHE = 'parley-pages-v2';

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    await self.clients.claim();
    for (const old of await caches.keys()) {
      if (old !== CACHE) await caches.delete(old);
    }
    // Pages open before this worker took over were not fetched through it: keep them,
    // and the bundle they load (/pkg/{version}/…). The bundle comes from the browser's
    // HTTP cache (it is immutable there), so it is not downloaded a second time.
    const cache = await caches.open(CACHE);
    const open = await self.clients.matchAll({ type: 'window' });
    await Promise.all(open.map(async (client) => {
      try {
        const page = await fetch(client.url, { credentials: 'same-origin' });
        if (!page.ok || page.redirected) return;
        const bundle = new Set((await page.clone().text()).match(/\/pkg\/[0-9a-f]+\/[\w.-]+/g) || []);
        await Promise.all([...bundle, '/favicon.svg'].map(async (url) => {
          const response = await fetch(url, { cache: 'force-cache' });
          if (response.ok) await cache.put(url, response);
        }));
        // Last: a page in the cache means what it needs is there too.
        await cache.put(client.url, page);
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
      // The stored copy is decoded already: its Vary (Accept-Encoding) does not matter.
      const cached = await caches.match(request, { ignoreVary: true });
      if (cached) return cached;
      throw error;
    }
  })());
});
