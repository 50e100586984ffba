import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { done, live, signIn } from './helpers';

/** Serious and critical WCAG 2.1 A/AA violations on the page as it is now. */
async function violations(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

for (const scheme of ['light', 'dark'] as const) {
  test(`axe: every page in the ${scheme} theme has no serious or critical violations`, async ({ browser }) => {
    const anonymous = await browser.newContext({ colorScheme: scheme });
    const login = await anonymous.newPage();
    await login.goto('/login');
    expect(await violations(login), '/login').toEqual([]);
    await anonymous.close();

    const alice = await signIn(browser, 'alice');
    await alice.page.emulateMedia({ colorScheme: scheme });
    for (const path of ['/dashboard', '/dashboard/orders', '/dashboard/orders/1042', '/chat', '/chat/oracare-team', '/admin', '/account']) {
      await alice.page.goto(path);
      await live(alice.page);
      expect(await violations(alice.page), path).toEqual([]);
    }
    await alice.page.goto('/dashboard');
    await live(alice.page);
    await alice.page.getByRole('button', { name: /^Open chat/ }).click();
    expect(await violations(alice.page), 'widget open: list').toEqual([]);
    await alice.page.getByRole('region', { name: 'Chat' }).getByRole('link', { name: '#oracare-team' }).click();
    await expect(alice.page.getByRole('log', { name: '#oracare-team' })).toBeVisible();
    expect(await violations(alice.page), 'widget open: thread').toEqual([]);
    await done(alice);
  });
}

test('a new message is added to the polite log without replacing what was there', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  await bob.page.goto('/chat/oracare-team');
  await live(bob.page);
  const log = bob.page.getByRole('log', { name: '#oracare-team' });
  await expect(log).toHaveAttribute('aria-live', 'polite');
  await expect(log.getByRole('article').first()).toBeVisible();
  const before = await log.evaluate((el) => {
    el.querySelectorAll('article').forEach((a) => ((a as any).kept = true));
    return el.querySelectorAll('article').length;
  });
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/chat/oracare-team');
  await live(carol.page);
  const text = `Announced once ${Math.random().toString(36).slice(2, 8)}`;
  await carol.page.getByRole('textbox', { name: 'Message' }).fill(text);
  await carol.page.getByRole('button', { name: 'Send' }).click();
  await expect(log.getByRole('article').last()).toContainText(text);
  // Screen readers announce what is added to a polite log: only the new message is new.
  const kept = await log.evaluate((el) =>
    [...el.querySelectorAll('article')].filter((a) => (a as any).kept).length);
  expect(kept).toBe(before);
  expect(await log.getByRole('article').count()).toBe(before + 1);
  await done(bob, carol);
});
