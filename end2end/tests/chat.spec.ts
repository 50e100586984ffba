import { test, expect, devices } from '@playwright/test';
import { badgeCount, done, live, send, signIn, unique } from './helpers';

test('alice and carol chat live through the widget on dashboard pages', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/dashboard/orders');
  await live(alice.page);
  await live(carol.page);

  for (const { page } of [alice, carol]) {
    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect(page.getByRole('button', { name: 'Close chat' })).toHaveAttribute('aria-expanded', 'true');
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: '#oracare-team' }).click();
    await expect(page.getByRole('log', { name: '#oracare-team' })).toBeVisible();
  }

  const hello = unique('Hello from the widget');
  await send(alice.page, hello);
  const atCarol = carol.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').filter({ hasText: hello });
  await expect(atCarol).toHaveCount(1);
  await expect(atCarol).toContainText('Alice Adams');
  await expect(atCarol.locator('time')).toHaveCount(1);

  const reply = unique('Got it, thanks');
  await send(carol.page, reply);
  await expect(alice.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').filter({ hasText: reply })).toHaveCount(1);
  // Exactly once on the sender's side too (the optimistic copy is replaced, not doubled).
  await expect(carol.page.getByRole('article').filter({ hasText: reply })).toHaveCount(1);
  await done(alice, carol);
});

test('alice and carol chat through /chat, and a reload keeps the history', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await alice.page.goto('/chat/oracare-team');
  await carol.page.goto('/chat');
  await live(alice.page);
  await live(carol.page);
  await carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: '#oracare-team' }).click();
  await expect(carol.page).toHaveURL(/\/chat\/oracare-team$/);

  const text = unique('Full-screen hello');
  await send(alice.page, `**${text}**`);
  const log = carol.page.getByRole('log', { name: '#oracare-team' });
  await expect(log.getByRole('article').filter({ hasText: text })).toHaveCount(1);
  // The list previews the newest message in plain words, live and after a reload.
  const entry = (page: typeof carol.page) => page.getByRole('navigation', { name: 'Conversations' })
    .getByRole('listitem').filter({ hasText: '#oracare-team' }).locator('.entry-preview');
  await expect(entry(carol.page)).toHaveText(`Alice: ${text}`);
  await expect(entry(alice.page)).toHaveText(`You: ${text}`);

  await carol.page.reload();
  await expect(carol.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').filter({ hasText: text })).toHaveCount(1);
  await expect(entry(carol.page)).toHaveText(`Alice: ${text}`);
  await done(alice, carol);
});

test("carol's sidebar has neither #internal nor #manufacturer", async ({ browser }) => {
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/chat');
  const nav = carol.page.getByRole('navigation', { name: 'Conversations' });
  await expect(nav.getByRole('link', { name: '#oracare-team' })).toBeVisible();
  await expect(nav.getByRole('link', { name: '#internal' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: '#manufacturer' })).toHaveCount(0);
  // Not by URL either.
  await carol.page.goto('/chat/internal');
  await expect(carol.page.getByRole('heading', { name: 'Conversation not found' })).toBeVisible();
  // Nor another organisation's order page, and there is a way back.
  await carol.page.goto('/dashboard/orders/999999');
  await expect(carol.page.getByRole('heading', { name: 'Order not found' })).toBeVisible();
  await expect(carol.page.getByRole('link', { name: 'Back to orders' })).toHaveAttribute('href', '/dashboard/orders');
  await done(carol);
});

test('a message that looks like HTML shows as text', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await alice.page.goto('/chat/oracare-team');
  await carol.page.goto('/chat/oracare-team');
  await live(alice.page);
  await live(carol.page);
  const payload = '<img src=x onerror=alert(1)>';
  await send(alice.page, payload);
  for (const { page } of [alice, carol]) {
    const log = page.getByRole('log', { name: '#oracare-team' });
    await expect(log.getByRole('article').filter({ hasText: payload }).first()).toBeVisible();
    await expect(log.locator('img')).toHaveCount(0);
  }
  await carol.page.reload();
  await expect(carol.page.getByRole('log', { name: '#oracare-team' }).getByText(payload).first()).toBeVisible();
  await expect(carol.page.locator('[role=log] img')).toHaveCount(0);
  await done(alice, carol); // a dialog from alert() would be recorded as an error
});

test('unread badge and title count go up with new messages and down when read', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  const dave = await signIn(browser, 'dave');
  await live(bob.page);
  await live(dave.page);
  const before = await badgeCount(dave.page);

  await bob.page.goto('/chat');
  await live(bob.page);
  await bob.page.getByRole('button', { name: 'New message' }).click();
  await bob.page.getByRole('button', { name: /Dave Diaz/ }).click();
  await expect(bob.page.getByRole('log', { name: 'Dave Diaz' })).toBeVisible();
  await send(bob.page, unique('Dave, quick question'));

  await expect(dave.page.locator('.launcher .badge')).toHaveText(`${before + 1} unread`);
  await expect(dave.page).toHaveTitle(`(${before + 1}) Parley`);
  // The launcher's name says the count it shows.
  await expect(dave.page.getByRole('button', { name: `Open chat, ${before + 1} unread`, exact: true })).toBeVisible();
  await dave.page.getByRole('button', { name: 'Open chat' }).click();
  await dave.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: 'Bob Baker' }).click();
  await expect(dave.page.getByRole('log', { name: 'Bob Baker' })).toBeVisible();
  await expect.poll(() => badgeCount(dave.page)).toBe(before);
  await done(bob, dave);
});

test('Discuss this order opens the order thread in the widget', async ({ browser }) => {
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/dashboard/orders/1042');
  await live(carol.page);
  await carol.page.getByRole('button', { name: 'Discuss this order' }).click();
  await expect(carol.page.getByRole('log', { name: 'Order 1042' })).toBeVisible();
  const text = unique('Where is 1042?');
  await send(carol.page, text);
  await expect(carol.page.getByRole('article').filter({ hasText: text })).toHaveCount(1);

  const bob = await signIn(browser, 'bob');
  await bob.page.goto('/chat/order-1042');
  await expect(bob.page.getByRole('log', { name: 'Order 1042' }).getByRole('article').filter({ hasText: text })).toHaveCount(1);
  // The thread says what it is about and links back to the order.
  const back = bob.page.locator('.order-context').getByRole('link', { name: 'Order 1042' });
  await expect(back).toHaveAttribute('href', '/dashboard/orders/1042');
  await expect(bob.page.locator('.order-context .status')).not.toBeEmpty();
  await done(carol, bob);
});

test('an order page opens threads about its SKU and its shipment too', async ({ browser }) => {
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/dashboard/orders/1041');
  await live(carol.page);
  const shipment = carol.page.getByRole('button', { name: /^Discuss shipment / });
  const reference = ((await shipment.textContent()) ?? '').replace('Discuss shipment ', '');
  await shipment.click();
  await expect(carol.page.getByRole('log', { name: `Shipment ${reference}` })).toBeVisible();
  await expect(carol.page.locator('.order-context')).toContainText(/UPS|DHL/);
  await expect(carol.page.locator('.order-context').getByRole('link', { name: 'Order 1041' })).toBeVisible();

  await carol.page.getByRole('button', { name: 'Discuss SKU ORA-TB-MED' }).click();
  await expect(carol.page.getByRole('log', { name: 'SKU ORA-TB-MED' })).toBeVisible();
  const text = unique('Is the medium brush back in stock?');
  await send(carol.page, text);
  const bob = await signIn(browser, 'bob');
  await bob.page.goto('/chat/sku-ORA-TB-MED');
  await expect(bob.page.getByRole('log', { name: 'SKU ORA-TB-MED' }).getByRole('article').filter({ hasText: text })).toHaveCount(1);
  await expect(bob.page.locator('.order-context').getByRole('link', { name: 'Order 1041' })).toHaveAttribute('href', '/dashboard/orders/1041');
  await bob.page.screenshot({ path: '../docs/screenshots/sku-thread.png' });
  await done(carol, bob);
});

test('the widget keeps its state across navigation and reloads', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  await live(alice.page);
  await alice.page.getByRole('button', { name: 'Open chat' }).click();
  await alice.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: '#internal' }).click();
  await expect(alice.page.getByRole('log', { name: '#internal' })).toBeVisible();

  await alice.page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Orders' }).click();
  await expect(alice.page).toHaveURL(/\/dashboard\/orders$/);
  await expect(alice.page.getByRole('log', { name: '#internal' })).toBeVisible();

  await alice.page.reload();
  await expect(alice.page.getByRole('log', { name: '#internal' })).toBeVisible();
  await alice.page.getByRole('button', { name: 'Minimise chat' }).click();
  await expect(alice.page.getByRole('button', { name: 'Open chat' })).toHaveAttribute('aria-expanded', 'false');
  await alice.page.reload();
  await live(alice.page);
  await expect(alice.page.getByRole('log', { name: '#internal' })).toBeHidden();
  await done(alice);
});

test('scrolling up loads older history until the start of the conversation', async ({ browser }) => {
  // scripts/test serves with PARLEY_HISTORY_PAGE=20, so 30 new messages push the
  // channel's first message two pages back.
  const bob = await signIn(browser, 'bob');
  await bob.page.goto('/chat/manufacturer');
  await live(bob.page);
  for (let i = 0; i < 30; i++) await send(bob.page, `filler ${i}`);
  await expect(bob.page.getByRole('article').filter({ hasText: 'filler 29' })).toHaveCount(1);

  await bob.page.reload();
  const log = bob.page.getByRole('log', { name: '#manufacturer' });
  await expect(log.getByRole('article').filter({ hasText: 'filler 29' })).toBeVisible();
  const first = log.getByRole('article').filter({ hasText: 'the next batch of ORA-KIT-TRAVEL' });
  await expect(first).toHaveCount(0);
  for (let i = 0; i < 10 && (await first.count()) === 0; i++) {
    await log.evaluate((el) => el.scrollTo({ top: 0 }));
    await bob.page.waitForTimeout(300);
  }
  await expect(first).toHaveCount(1);
  await expect(log.getByText('This is the start of the conversation.')).toBeVisible();
  // Every message exactly once: 3 seeded + 30 new.
  await expect(log.getByRole('article')).toHaveCount(33);
  await done(bob);
});

test('on a phone nothing scrolls sideways, the launcher can be tapped and the open widget fills the screen', async ({ browser }) => {
  const context = await browser.newContext({ ...devices['Pixel 5'] });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByRole('textbox', { name: 'Username' }).fill('carol');
  await page.getByLabel('Password').fill('parley-demo');
  await page.getByRole('button', { name: 'Sign in' }).tap();
  await expect(page).toHaveURL(/\/dashboard$/);
  await live(page);
  const viewport = page.viewportSize()!;
  const within = async (what: string, box: { x: number; y: number; width: number; height: number } | null) => {
    expect(box, what).not.toBeNull();
    expect(box!.x, what).toBeGreaterThanOrEqual(0);
    expect(box!.y, what).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, what).toBeLessThanOrEqual(viewport.width + 0.5);
    expect(box!.y + box!.height, what).toBeLessThanOrEqual(viewport.height + 0.5);
  };
  for (const path of ['/dashboard', '/dashboard/orders', '/dashboard/orders/1042', '/chat']) {
    await page.goto(path);
    await live(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(viewport.width);
  }
  await page.goto('/dashboard/orders/1042');
  await live(page);
  await within('launcher', await page.getByRole('button', { name: /^Open chat/ }).boundingBox());
  await page.getByRole('button', { name: 'Discuss this order' }).tap();
  const panel = page.getByRole('region', { name: 'Chat' });
  await expect(panel.getByRole('log', { name: 'Order 1042' })).toBeVisible();
  expect(await panel.boundingBox()).toEqual({ x: 0, y: 0, width: viewport.width, height: viewport.height });
  await within('Send', await panel.getByRole('button', { name: 'Send' }).boundingBox());
  await within('Message', await panel.getByRole('textbox', { name: 'Message' }).boundingBox());
  await context.close();
});
