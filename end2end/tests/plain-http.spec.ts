import { chromium, expect, test } from '@playwright/test';
import { live, send, unique } from './helpers';

// Served as http://chat.internal:PORT — how people first try Parley on their network —
// the page is not a secure context: no crypto.randomUUID, no service worker. Sending
// must still work, and the page says that offline reloads are off.
test('Parley works under a plain-HTTP name that is not localhost', async () => {
  const base = new URL(process.env.PARLEY_URL ?? 'http://127.0.0.1:3000');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--host-resolver-rules=MAP chat.internal ${base.hostname}`,
    ],
  });
  const origin = `http://chat.internal:${base.port}`;
  const context = await browser.newContext({ baseURL: origin });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.text().includes('panicked')) errors.push(m.text()); });

  await page.goto('/login');
  expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
  await page.getByRole('textbox', { name: 'Username' }).fill('bob');
  await page.getByLabel('Password').fill('parley-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.goto('/chat/internal');
  await live(page);
  await expect(page.getByText('Offline reloads are off on this address (not HTTPS)')).toBeVisible();
  const text = unique('Sent from a plain-HTTP address');
  await send(page, text);
  const sent = page.getByRole('log', { name: '#internal' }).getByRole('article').filter({ hasText: text });
  await expect(sent).toHaveCount(1);
  await expect(page.getByRole('article').filter({ hasText: 'Sending…' })).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('log', { name: '#internal' }).getByRole('article').filter({ hasText: text })).toHaveCount(1);
  expect(errors).toEqual([]);
  await browser.close();
});
