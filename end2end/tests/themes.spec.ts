import { test, expect } from '@playwright/test';
import { done, live, signIn } from './helpers';

const background = (page: import('@playwright/test').Page) =>
  page.evaluate(() => getComputedStyle(document.body).backgroundColor);

test('the Theme button cycles system, light and dark, and the choice follows the person', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  await bob.page.emulateMedia({ colorScheme: 'dark' });
  await live(bob.page);
  const button = bob.page.getByRole('button', { name: /^Theme/ });
  await expect(button).toHaveAccessibleName('Theme: system');
  expect(await background(bob.page)).toBe('rgb(18, 20, 26)'); // the system says dark

  await button.click();
  await expect(button).toHaveAccessibleName('Theme: light');
  await expect(bob.page.locator('html')).toHaveAttribute('data-theme', 'light');
  expect(await background(bob.page)).toBe('rgb(246, 247, 251)');
  await button.click();
  await expect(button).toHaveAccessibleName('Theme: dark');
  await bob.page.emulateMedia({ colorScheme: 'light' });
  expect(await background(bob.page)).toBe('rgb(18, 20, 26)'); // chosen: dark whatever the system

  // Kept on the server: the first paint of the next page, and another device, are dark.
  const other = await signIn(browser, 'bob');
  await expect(other.page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await other.page.goto('/chat');
  await live(other.page);
  expect(await background(other.page)).toBe('rgb(18, 20, 26)');
  await other.page.getByRole('button', { name: 'Theme: dark' }).click();
  await expect(other.page.getByRole('button', { name: 'Theme: system' })).toBeVisible();
  await done(bob, other);
});
