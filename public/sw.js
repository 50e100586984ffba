// Parley's service worker: keeps the last copy of every page and of the wasm bundle, so a
// reload while offline still opens the page, with its unsent messages from the outbox.
// Network first, always: the cache is only a fallback. Signing out empties it.
const CACHE = 'parley-pages-v3';

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    await self.clients.claim();
    for (const old of await caches.keys()) {
      if (old !== CACHE) await caches.delete(old);
    }
    // Pages open before this worker took over were not fetched through it: keep them.
    const open = await self.clients.matchAll({ type: 'window' });
    await Promise.all(open.map((client) => keepPage(client.url)));
  })());
});

// A page loaded while this worker was still starting was not fetched through it, and
// is not controlled by it (claiming happened before it loaded): once the worker is ready
// it asks to be kept, and is claimed too.
self.addEventListener('message', (event) => {
  if (event.data === 'keep' && event.source && event.source.url) {
    event.waitUntil(Promise.all([self.clients.claim(), keepPage(event.source.url)]));
  }
});

// Keeps a page that is not kept yet, and the bundle it loads (/pkg/{version}/…) first:
// a page in the cache means what it needs is there too. The bundle comes from the
// browser's HTTP cache (it is immutable there), so it is not downloaded a second time.
async function keepPage(url) {
  try {
    const cache = await caches.open(CACHE);
    if (await cache.match(url, { ignoreVary: true })) return;
    const page = await fetch(url, { credentials: 'same-origin' });
    if (!keepable(page)) return;
    const bundle = new Set((await page.clone().text()).match(/\/pkg\/[0-9a-f]+\/[\w.-]+/g) || []);
    await Promise.all([...bundle, '/favicon.svg'].map(async (asset) => {
      const response = await fetch(asset, { cache: 'force-cache' });
      if (keepable(response)) await keep(asset, response);
    }));
    // A copy the page was fetched with meanwhile is as new: leave it.
    if (!(await cache.match(url, { ignoreVary: true }))) await keep(url, page);
  } catch (_) { /* offline already: nothing to keep */ }
}

function cacheable(url) {
  if (url.origin !== self.location.origin) return false;
  const path = url.pathname;
  return !(path === '/ws' || path.startsWith('/events') || path.startsWith('/api/')
    || path.startsWith('/auth/') || path === '/sw.js');
}

// A redirected response cannot answer a navigation (the browser refuses it), and an
// error is not worth keeping.
function keepable(response) {
  return response.ok && response.type === 'basic' && !response.redirected;
}

// The body is read in full before it is stored, so a copy cut short (the connection lost
// half-way) never replaces a whole one.
async function keep(key, response) {
  const body = await response.arrayBuffer();
  const cache = await caches.open(CACHE);
  await cache.put(key, new Response(body, {
    status: response.status, statusText: response.statusText, headers: response.headers,
  }));
}

const OFFLINE_PAGE = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline · Parley</title>
<style>body{font:16px system-ui,sans-serif;margin:3rem auto;max-width:32rem;padding:0 1rem;color-scheme:light dark}</style>
</head><body><main><h1>You are offline</h1>
<p>This page was not kept for offline use. Messages you wrote on other pages are still waiting to be sent.</p>
<p><a href="">Try again</a> once you are back online.</p></main></body></html>`;

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || !cacheable(url)) return;
  event.respondWith((async () => {
    let response;
    try {
      response = await fetch(request);
    } catch (error) {
      // Offline. The stored copy is decoded already: its Vary (Accept-Encoding) does
      // not matter.
      const cached = await caches.match(request, { ignoreVary: true });
      if (cached) return cached;
      if (request.mode === 'navigate') {
        return new Response(OFFLINE_PAGE, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
      }
      throw error;
    }
    // Storing happens after the answer, and its failure (a full disk) is not the page's.
    if (request.mode === 'navigate' && new URL(response.url || request.url).pathname === '/login') {
      // Signed out (or never signed in): forget every page kept for the last user.
      event.waitUntil(caches.delete(CACHE));
    } else if (keepable(response)) {
      event.waitUntil(keep(request, response.clone()).catch(() => {}));
    }
    return response;
  })());
});
