import { test, expect, type Browser, type Page } from '@playwright/test';
import { createHmac, randomUUID } from 'node:crypto';
import { signIn, live, done, send, unique } from './helpers';

// The demo host: a plain HTML dashboard on another origin (scripts/test starts it with
// Parley and passes its URL), embedding the widget with the one tag of SPEC §6.
const HOST = process.env.PARLEY_HOST_URL ?? 'http://127.0.0.1:3001';
const DEMO_SSO_SECRET = 'parley-demo-sso-secret';

/** A single sign-on token, made as any Node host would (the README's example). */
function ssoToken(claims: Record<string, unknown>, secret = DEMO_SSO_SECRET): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${signature}`;
}

function claims(sub: string, name: string, exp = Math.floor(Date.now() / 1000) + 300) {
  return {
    sub, name, email: `${sub}@oracare.example`, role: 'guest', org: 'Oracare',
    org_kind: 'client', exp, nonce: randomUUID(),
  };
}

async function openHost(browser: Browser, as: string, viewport?: { width: number; height: number }) {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${HOST}/login?as=${as}`);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Good morning');
  return { context, page, errors };
}

function widget(page: Page) {
  return page.frameLocator('iframe[data-parley]');
}

async function frameLive(page: Page) {
  await expect(widget(page).locator('html')).toHaveAttribute('data-connection', 'online', { timeout: 20_000 });
}

test('a host dashboard on another origin embeds the widget through single sign-on and chats live', async ({ browser, baseURL }) => {
  const hana = await openHost(browser, 'nw-17');
  expect(new URL(HOST).origin).not.toBe(new URL(baseURL!).origin);
  await frameLive(hana.page);
  const frame = widget(hana.page);

  // The host's CSS does not reach the widget: its buttons are not hot pink in Georgia.
  const launcher = frame.getByRole('button', { name: /^Open chat/ });
  await expect(launcher).toBeVisible();
  const look = await launcher.evaluate((b) => {
    const s = getComputedStyle(b);
    return { background: s.backgroundColor, font: s.fontFamily };
  });
  expect(look.background).toBe('rgb(10, 125, 98)'); // the host's accent, #0a7d62
  expect(look.font).not.toContain('Georgia');
  await hana.page.evaluate(() => {
    (window as any).unread = [];
    (window as any).Parley.on('unread', (n: number) => (window as any).unread.push(n));
  });

  await launcher.click();
  await frame.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: '#oracare-team' }).click();
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/chat/oracare-team');
  await live(carol.page);

  const hello = unique('Hello from the host dashboard');
  const box = frame.getByRole('textbox', { name: 'Message' });
  await box.fill(hello);
  await frame.getByRole('button', { name: 'Send' }).click();
  await expect(box).toHaveValue('');
  const carolsLog = carol.page.getByRole('log', { name: '#oracare-team' });
  await expect(carolsLog.getByRole('article').filter({ hasText: hello })).toContainText('Hana Hill');

  // Closed, the unread count reaches the host page through Parley.on("unread").
  // (Earlier tests may have left unread messages in Oracare's order threads.)
  await frame.getByRole('button', { name: 'Minimise chat' }).click();
  const before = await frame.locator('.launcher').getAttribute('aria-label');
  const count = Number(/(\d+) unread/.exec(before ?? '')?.[1] ?? 0);
  const answer = unique('Answer from Carol');
  await send(carol.page, answer);
  await expect(frame.getByRole('button', { name: `Open chat, ${count + 1} unread` })).toBeVisible();
  await expect.poll(() => hana.page.evaluate(() => (window as any).unread.at(-1))).toBe(count + 1);
  await hana.page.screenshot({ path: '../docs/screenshots/embed-host-closed.png' });

  // Open state survives the host's navigation; openThread opens an order's thread.
  await hana.page.evaluate(() => (window as any).Parley.open());
  await expect(frame.getByRole('button', { name: 'Minimise chat' })).toBeVisible();
  await hana.page.getByRole('link', { name: 'Orders' }).click();
  await expect(hana.page.getByRole('heading', { name: 'Orders' })).toBeVisible();
  await expect(frame.getByRole('region', { name: 'Chat' })).toBeVisible();
  await frameLive(hana.page);
  await hana.page.getByRole('button', { name: 'Chat about order 1042' }).click();
  await expect(frame.getByRole('log', { name: 'Order 1042' })).toBeVisible();
  await hana.page.screenshot({ path: '../docs/screenshots/embed-host-thread.png' });
  await hana.page.emulateMedia({ colorScheme: 'dark' });
  await expect(frame.locator('body')).toHaveCSS('background-color', 'rgba(0, 0, 0, 0)');
  await expect(frame.getByRole('region', { name: 'Chat' })).toHaveCSS('background-color', 'rgb(27, 30, 39)');
  await hana.page.screenshot({ path: '../docs/screenshots/embed-host-thread-dark.png' });
  await hana.page.emulateMedia({ colorScheme: 'light' });

  // An unknown reference: said in the widget, and to the host as the error envelope.
  await hana.page.evaluate(() => {
    (window as any).failures = [];
    (window as any).Parley.on('error', (e: unknown) => (window as any).failures.push(e));
  });
  await hana.page.getByRole('button', { name: 'Chat about order 9999' }).click();
  await expect(frame.getByRole('alert')).toContainText('No such order');
  await expect.poll(() => hana.page.evaluate(() => (window as any).failures[0]?.code)).toBe('not_found');

  expect(hana.errors).toEqual([]);
  await hana.context.close();
  await done(carol);
});

test('on a phone the embedded widget opens full screen', async ({ browser }) => {
  const { devices } = await import('@playwright/test');
  const context = await browser.newContext({ ...devices['Pixel 5'] });
  const page = await context.newPage();
  await page.goto(`${HOST}/login?as=nw-17`);
  await frameLive(page);
  await widget(page).getByRole('button', { name: /^Open chat/ }).tap();
  await expect(widget(page).getByRole('button', { name: 'Minimise chat' })).toBeVisible();
  const box = await page.locator('iframe[data-parley]').boundingBox();
  const viewport = page.viewportSize()!;
  expect(box).toEqual({ x: 0, y: 0, width: viewport.width, height: viewport.height });
  await page.screenshot({ path: '../docs/screenshots/embed-host-phone.png' });
  await context.close();
});

test('tampered, expired and replayed tokens and foreign sites get a clear message and nothing else', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // The demo host's "Try a token" page embeds Parley with whatever token it is given.
  const host = async (origin: string, token: string) => {
    await page.goto(`${origin}/try?token=${encodeURIComponent(token)}`);
    return widget(page).getByRole('alert');
  };
  const heard = () => page.evaluate(() => new Promise((resolve) => {
    const wait = setInterval(() => {
      if ((window as any).Parley) { clearInterval(wait); (window as any).Parley.on('error', resolve); }
    }, 10);
  }));
  const good = ssoToken(claims(`nw-${randomUUID()}`, 'Tess Token'));
  const [body, signature] = good.split('.');
  const forged = `${Buffer.from(JSON.stringify({ ...claims('nw-x', 'Eve Evil'), role: 'admin', org_kind: 'internal' })).toString('base64url')}.${signature}`;
  // The same host by another name: another origin, not among the embedding origins.
  const foreign = HOST.replace('127.0.0.1', 'localhost');
  const cases: [string, string, string, RegExp, string][] = [
    ['a forged payload', HOST, forged, /signature does not match/, 'unauthenticated'],
    ['another secret', HOST, ssoToken(claims('nw-y', 'Ian Other'), 'some-other-secret-entirely'), /signature does not match/, 'unauthenticated'],
    ['no signature', HOST, body, /not a Parley single sign-on token/, 'unauthenticated'],
    ['an expired token', HOST, ssoToken(claims('nw-z', 'Old Timer', Math.floor(Date.now() / 1000) - 3600)), /expired/, 'unauthenticated'],
    ['a site that may not embed', foreign, good, /may not embed Parley/, 'forbidden'],
  ];
  for (const [what, origin, token, says, code] of cases) {
    await expect(await host(origin, token), what).toContainText(says);
    expect(await heard(), what).toMatchObject({ code });
  }
  // The good token works once, in another browser ...
  const first = await browser.newContext();
  const firstPage = await first.newPage();
  await firstPage.goto(`${HOST}/try?token=${encodeURIComponent(good)}`);
  await frameLive(firstPage);
  await first.close();
  // ... and replayed here, it opens nothing.
  await expect(await host(HOST, good)).toContainText(/used already/);
  await page.screenshot({ path: '../docs/screenshots/embed-refused.png' });
  await context.close();

  // Nobody was made from the refused tokens: the admin's list has Tess and no other.
  const alice = await signIn(browser, 'alice');
  await alice.page.goto('/admin');
  const users = alice.page.getByRole('table').first();
  await expect(users).toContainText('Tess Token');
  for (const name of ['Eve Evil', 'Ian Other', 'Old Timer']) {
    await expect(users.getByRole('cell', { name, exact: true })).toHaveCount(0);
  }
  await done(alice);
});

test('only the embedding origins may frame Parley', async ({ browser, baseURL }) => {
  const response = await (await browser.newContext()).request.get(`${baseURL}/login`);
  const policy = response.headers()['content-security-policy'].split(';').map((d) => d.trim());
  expect(policy).toContain("frame-ancestors 'self'");
});
