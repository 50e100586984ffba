import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

/** A signed-in user in their own browser context, failing the test on any page error
 *  or Rust panic in the console. */
export interface Session {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

export async function signIn(browser: Browser, username: string, viewport?: { width: number; height: number }): Promise<Session> {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (text.includes('panicked')) errors.push(`panic on ${page.url()}: ${text}`);
    // Leptos says where a hydration mismatch was found just before it panics.
    else if (m.type() === 'error' && text.includes('hydration')) errors.push(`hydration error on ${page.url()}: ${text}`);
  });
  page.on('dialog', (d) => {
    errors.push(`unexpected dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto('/login');
  await page.getByRole('textbox', { name: 'Username' }).fill(username);
  await page.getByLabel('Password').fill('parley-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  return { context, page, errors };
}

/** Waits until the page is hydrated and its live connection is up. */
export async function live(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-connection', 'online', { timeout: 20_000 });
}

export async function done(...sessions: Session[]) {
  for (const s of sessions) {
    expect(s.errors, 'no page errors or panics').toEqual([]);
    await s.context.close();
  }
}

export function unique(text: string) {
  return `${text} ${Math.random().toString(36).slice(2, 8)}`;
}

/** The launcher's unread count (0 when it shows no badge). */
export async function badgeCount(page: Page): Promise<number> {
  const badge = page.locator('.launcher .badge');
  if ((await badge.count()) === 0) return 0;
  const text = (await badge.textContent()) ?? '';
  return parseInt(text, 10);
}

export async function send(page: Page, text: string) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(box).toHaveValue('');
}
