// Parley's embed: the one tag a host dashboard adds (SPEC.md §6),
//   <script src="https://chat.example/embed.js" data-sso="{token}" async></script>
// and optionally data-accent="#0a7d62". It puts Parley's widget in a frame served by
// Parley (so neither the host's CSS nor its scripts reach the widget, and the widget's
// router and styles do not reach the host), signs the frame in by posting the token into
// it (never in a URL), sizes the frame as the widget opens and closes, and offers
// window.Parley: open(), close(), openThread("order:1042"), on("unread" | "error", fn).
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || window.Parley) return;
  const origin = new URL(script.src, location.href).origin;
  const KEY = 'parley.embed';
  const remembered = (() => {
    try { return JSON.parse(localStorage.getItem(KEY) || '{}'); } catch (_) { return {}; }
  })();
  let state = { open: !!remembered.open, unread: remembered.unread | 0 };
  let ready = false;
  let problem = null;
  let lastError = null;
  const queue = [];
  const listeners = { unread: new Set(), error: new Set() };

  const frame = document.createElement('iframe');
  frame.name = 'parley-' + Math.random().toString(36).slice(2);
  frame.title = 'Parley chat';
  frame.setAttribute('data-parley', '');
  // Inline styles with !important: a host's stylesheet cannot move or hide the frame.
  const place = () => {
    const phone = matchMedia('(max-width: 600px)').matches;
    let css = 'position:fixed!important;z-index:2147483000!important;border:0!important;' +
      'margin:0!important;padding:0!important;background:transparent!important;' +
      'color-scheme:normal;display:block!important;max-width:none!important;';
    if (problem) {
      css += 'right:0!important;bottom:0!important;width:min(360px,100vw)!important;height:150px!important;';
    } else if (!state.open) {
      css += 'right:0!important;bottom:0!important;width:104px!important;height:104px!important;';
    } else if (phone) {
      css += 'inset:0!important;width:100vw!important;height:100dvh!important;';
    } else {
      css += 'right:20px!important;bottom:20px!important;width:400px!important;' +
        'height:min(640px,calc(100vh - 40px))!important;border-radius:14px!important;' +
        'box-shadow:0 10px 30px rgba(20,24,40,.25)!important;';
    }
    frame.style.cssText = css;
  };
  place();
  addEventListener('resize', place);
  (document.body || document.documentElement).appendChild(frame);

  // Sign in: the token goes to Parley in a POST into the frame, as a form would.
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = origin + '/auth/sso';
  form.target = frame.name;
  form.style.display = 'none';
  const fields = {
    token: script.dataset.sso || '',
    open: state.open ? '1' : '',
    accent: script.dataset.accent || '',
  };
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  (document.body || document.documentElement).appendChild(form);
  form.submit();
  form.remove();

  const emit = (event, value) => {
    for (const fn of listeners[event]) {
      try { fn(value); } catch (e) { setTimeout(() => { throw e; }); }
    }
  };
  addEventListener('message', (event) => {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    const message = event.data || {};
    if (message.type === 'parley:state') {
      const first = !ready;
      ready = true;
      problem = null;
      const unreadChanged = message.unread !== state.unread;
      state = { open: !!message.open, unread: message.unread | 0 };
      try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (_) { /* private mode */ }
      place();
      if (unreadChanged || first) emit('unread', state.unread);
      while (first && queue.length) post(queue.shift());
    } else if (message.type === 'parley:error') {
      // Before the widget is up, the frame shows why it could not open.
      if (!ready) { problem = message.error; place(); }
      lastError = message.error;
      emit('error', message.error);
    }
  });
  const post = (message) => {
    if (!ready) { queue.push(message); return; }
    frame.contentWindow.postMessage(message, origin);
  };

  window.Parley = Object.freeze({
    open: () => post({ type: 'parley:open' }),
    close: () => post({ type: 'parley:close' }),
    openThread: (reference) => post({ type: 'parley:open-thread', reference: String(reference) }),
    on(event, fn) {
      if (!listeners[event] || typeof fn !== 'function') {
        throw new TypeError('Parley.on(event, fn): event is "unread" or "error"');
      }
      listeners[event].add(fn);
      // A listener added late still hears the current count, or why the frame failed.
      if (event === 'unread' && ready) fn(state.unread);
      if (event === 'error' && lastError) fn(lastError);
      return () => listeners[event].delete(fn);
    },
  });
})();
