import { expect, test, type Page } from '@playwright/test';
import { done, live, send, signIn, unique } from './helpers';

/** Waits until the service worker is active (a navigation goes through it whether or not
 *  it controls the page yet) and has kept a copy of the page and of its bundle. (Polled:
 *  `waitForFunction` does not await an async predicate, so it used to pass at once, and
 *  the reload raced the worker.) */
async function keptOffline(page: Page) {
  await expect.poll(() => page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    if (registration?.active?.state !== 'activated') return false;
    const bundle = [...document.querySelectorAll('link[href^="/pkg/"]')].map((l) => l.getAttribute('href')!);
    const kept = await Promise.all([location.href, ...bundle].map((url) => caches.match(url)));
    return kept.every((r) => r !== undefined);
  }), { timeout: 20_000 }).toBe(true);
}

async function bodiesIn(page: Page, conversation: string): Promise<string[]> {
  const bodies = await page.getByRole('log', { name: conversation }).getByRole('article').locator('.body').allTextContents();
  return bodies.map((b) => b.trim());
}

test('messages written offline survive a reload and arrive exactly once, in order', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await alice.page.goto('/chat/oracare-team');
  await live(alice.page);
  await carol.page.goto('/chat/oracare-team');
  await live(carol.page);
  await keptOffline(carol.page);

  await carol.context.setOffline(true);
  await expect(carol.page.locator('html')).toHaveAttribute('data-connection', 'offline');
  const texts = [1, 2, 3].map((n) => unique(`written offline ${n}`));
  for (const text of texts) await send(carol.page, text);
  const sending = carol.page.getByRole('article').filter({ hasText: 'Sending…' });
  await expect(sending).toHaveCount(3);

  await carol.page.reload();
  await expect(carol.page.getByRole('log', { name: '#oracare-team' })).toBeVisible();
  await expect(sending).toHaveCount(3);
  for (const text of texts) {
    await expect(alice.page.getByRole('article').filter({ hasText: text })).toHaveCount(0);
  }

  await carol.context.setOffline(false);
  await live(carol.page);
  await expect(sending).toHaveCount(0);
  for (const text of texts) {
    await expect(alice.page.getByRole('article').filter({ hasText: text })).toHaveCount(1);
  }
  const atAlice = await bodiesIn(alice.page, '#oracare-team');
  const positions = texts.map((t) => atAlice.indexOf(t));
  expect(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1])), `in order: ${positions}`).toBe(true);
  // And once on carol's side too, after the page and the reconnect.
  for (const text of texts) {
    await expect(carol.page.getByRole('article').filter({ hasText: text })).toHaveCount(1);
  }
  await done(alice, carol);
});

test('a message sent while the connection is down is resent and not doubled', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  const alice = await signIn(browser, 'alice');
  await bob.page.goto('/chat/internal');
  await live(bob.page);
  await alice.page.goto('/chat/internal');
  await live(alice.page);
  // Missed while away: alice writes while bob is offline; bob catches up on reconnect.
  await bob.context.setOffline(true);
  await expect(bob.page.locator('html')).toHaveAttribute('data-connection', 'offline');
  const missed = unique('while bob was away');
  await send(alice.page, missed);
  const mine = unique('bob offline reply');
  await send(bob.page, mine);
  await bob.context.setOffline(false);
  await live(bob.page);
  await expect(bob.page.getByRole('article').filter({ hasText: missed })).toHaveCount(1);
  await expect(alice.page.getByRole('article').filter({ hasText: mine })).toHaveCount(1);
  await expect(bob.page.getByRole('article').filter({ hasText: mine })).toHaveCount(1);
  await done(bob, alice);
});

test('an outbox longer than the frame rate limit goes out in full and in order after the wait', async ({ browser }) => {
  // The server takes 30 frames a second from one person (PARLEY_RATE_FRAMES_PER_USER):
  // the sends past it are refused with a wait, and the outbox resends them after it.
  const bob = await signIn(browser, 'bob');
  const alice = await signIn(browser, 'alice');
  await bob.page.goto('/chat/internal');
  await live(bob.page);
  await alice.page.goto('/chat/internal');
  await live(alice.page);
  await bob.context.setOffline(true);
  await expect(bob.page.locator('html')).toHaveAttribute('data-connection', 'offline');
  const texts = Array.from({ length: 36 }, (_, n) => unique(`queued ${n + 1}`));
  for (const text of texts) await send(bob.page, text);
  await bob.context.setOffline(false);
  await live(bob.page);
  await expect(bob.page.getByRole('article').filter({ hasText: 'Sending…' })).toHaveCount(0, { timeout: 20_000 });
  await expect(bob.page.getByRole('article').filter({ hasText: 'Not sent' })).toHaveCount(0);
  await expect(alice.page.getByRole('article').filter({ hasText: texts[35] })).toHaveCount(1);
  const atAlice = await bodiesIn(alice.page, '#internal');
  const positions = texts.map((t) => atAlice.indexOf(t));
  expect(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1])), `all, in order: ${positions}`).toBe(true);
  await done(bob, alice);
});

test('presence: alice closing her last tab shows her offline to carol', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await live(alice.page);
  const secondTab = await alice.context.newPage();
  await secondTab.goto('/chat');
  await live(secondTab);

  await carol.page.goto('/chat');
  await live(carol.page);
  await carol.page.getByRole('button', { name: 'New message' }).click();
  await carol.page.getByRole('button', { name: /Alice Adams/ }).click();
  const entry = carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: 'Alice Adams' });
  const dot = entry.getByRole('img');
  await expect(dot).toHaveAttribute('aria-label', 'Online');

  await alice.page.close();
  await carol.page.waitForTimeout(500);
  await expect(dot).toHaveAttribute('aria-label', 'Online'); // one tab is still open
  const closed = Date.now();
  await secondTab.close();
  await expect(dot).toHaveAttribute('aria-label', 'Offline', { timeout: 2_000 });
  console.log(`presence: offline seen ${Date.now() - closed} ms after the last tab closed`);
  await done(carol);
  await alice.context.close();
});

test('typing shows for the others and clears when the message is sent', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await alice.page.goto('/chat/oracare-team');
  await live(alice.page);
  await carol.page.goto('/chat/oracare-team');
  await live(carol.page);

  const typing = alice.page.getByRole('status').filter({ hasText: 'is typing' });
  await carol.page.getByRole('textbox', { name: 'Message' }).pressSequentially('Let me check', { delay: 30 });
  await expect(typing).toHaveText('Carol Chen is typing…');
  await expect(carol.page.getByRole('status').filter({ hasText: 'is typing' })).toHaveCount(0);
  await carol.page.getByRole('button', { name: 'Send' }).click();
  await expect(alice.page.getByRole('article').filter({ hasText: 'Let me check' }).last()).toBeVisible();
  await expect(typing).toHaveCount(0);

  // Typing that stops without sending fades by itself.
  await carol.page.getByRole('textbox', { name: 'Message' }).pressSequentially('hmm', { delay: 30 });
  await expect(typing).toHaveText('Carol Chen is typing…');
  await expect(typing).toHaveCount(0, { timeout: 10_000 });
  await done(alice, carol);
});

test('with WebSockets blocked, chat works over Server-Sent Events', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  for (const { context } of [alice, carol]) {
    await context.routeWebSocket(/\/ws/, (ws) => ws.close());
  }
  await alice.page.goto('/chat/oracare-team');
  await carol.page.goto('/chat/oracare-team');
  for (const { page } of [alice, carol]) {
    await expect(page.locator('html')).toHaveAttribute('data-transport', 'sse', { timeout: 20_000 });
    await live(page);
  }
  const hello = unique('Over SSE');
  await send(alice.page, hello);
  await expect(carol.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').filter({ hasText: hello })).toHaveCount(1);
  const reply = unique('SSE reply');
  await send(carol.page, reply);
  await expect(alice.page.getByRole('article').filter({ hasText: reply })).toHaveCount(1);
  await expect(carol.page.getByRole('article').filter({ hasText: reply })).toHaveCount(1);
  await done(alice, carol);
});

test('an admin can switch the connection mode to Server-Sent Events', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  await alice.page.goto('/admin');
  await live(alice.page);
  const mode = alice.page.getByRole('form', { name: 'Connection mode' });
  await mode.getByRole('radio', { name: /^Server-Sent Events/ }).check();
  await mode.getByRole('button', { name: 'Save' }).click();
  await expect(mode.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  try {
    const bob = await signIn(browser, 'bob');
    await bob.page.goto('/chat/internal');
    await expect(bob.page.locator('html')).toHaveAttribute('data-transport', 'sse');
    await live(bob.page);
    const text = unique('Admin chose SSE');
    await send(bob.page, text);
    await expect(bob.page.getByRole('article').filter({ hasText: text })).toHaveCount(1);
    await done(bob);
  } finally {
    await mode.getByRole('radio', { name: /^Automatic/ }).check();
    await mode.getByRole('button', { name: 'Save' }).click();
  }
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/admin');
  await expect(carol.page.getByText('Only administrators can open this page.')).toBeVisible();
  await done(alice, carol);
});

test('mentions are counted for the mentioned person and reading shows "seen by"', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await live(carol.page);
  await alice.page.goto('/chat/oracare-team');
  await live(alice.page);
  await carol.page.getByRole('button', { name: 'Open chat' }).click();
  const entry = carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: '#oracare-team' });

  await send(alice.page, unique('@carol could you confirm the address for 1031?'));
  await expect(entry.locator('.mentions')).toHaveText('@1 mention');

  await entry.getByRole('link', { name: '#oracare-team' }).click();
  await expect(carol.page.getByRole('log', { name: '#oracare-team' })).toBeVisible();
  await expect(alice.page.getByText('Seen by Carol Chen')).toBeVisible();
  await carol.page.getByRole('button', { name: 'All conversations' }).click();
  await expect(entry.getByRole('link', { name: '#oracare-team' })).toBeVisible();
  await expect(entry.locator('.mentions')).toHaveCount(0);
  await expect(entry.locator('.count')).toHaveCount(0);
  await done(alice, carol);
});

test('signing out in one tab sends the other tabs to the sign-in page', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  await live(bob.page);
  const other = await bob.context.newPage();
  await other.goto('/chat');
  await live(other);

  await bob.page.getByRole('button', { name: 'Sign out' }).click();
  await expect(bob.page).toHaveURL(/\/login/);
  // The other tab's live connection was closed as signed out: it leaves for the sign-in
  // page (which brings it back to /chat afterwards) instead of showing stale chat.
  await expect(other).toHaveURL(/\/login\?next=%2Fchat$/, { timeout: 5_000 });
  await other.getByRole('textbox', { name: 'Username' }).fill('bob');
  await other.getByLabel('Password').fill('parley-demo');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other).toHaveURL(/\/chat$/);
  await live(other);
  await done(bob);
});

test('a tab whose session is gone goes to the sign-in page when it reconnects', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  await bob.page.goto('/chat');
  await live(bob.page);
  // The browser loses its session (as when it expires while the laptop sleeps); the
  // refused reconnect is explained by /auth/session and the tab leaves for /login.
  await bob.context.clearCookies();
  await bob.context.setOffline(true);
  await bob.context.setOffline(false);
  await expect(bob.page).toHaveURL(/\/login\?next=%2Fchat$/, { timeout: 10_000 });
  await done(bob);
});
