import { test, expect, type Locator, type Page } from '@playwright/test';
import { unique } from './helpers';

/** Presses Tab until `target` has the focus. */
async function tabTo(page: Page, target: Locator) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`Tab never reached ${target}`);
}

test('keyboard only: sign in, open the widget, jump to a conversation, send, edit with ↑, close with Esc', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/login');
  await tabTo(page, page.getByRole('textbox', { name: 'Username' }));
  await page.keyboard.type('bob');
  await page.keyboard.press('Tab');
  await page.keyboard.type('parley-demo');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.locator('html')).toHaveAttribute('data-connection', 'online', { timeout: 20_000 });

  await tabTo(page, page.getByRole('button', { name: /^Open chat/ }));
  await page.keyboard.press('Enter');
  const panel = page.getByRole('region', { name: 'Chat' });
  await expect(panel).toBeVisible();

  // Ctrl+K: jump to #internal by typing part of its name.
  await page.keyboard.press('Control+k');
  const jump = page.getByRole('dialog', { name: 'Jump to a conversation' });
  await expect(jump.getByRole('combobox', { name: 'Conversation' })).toBeFocused();
  await page.keyboard.type('intern');
  await expect(jump.getByRole('option')).toHaveCount(1);
  await page.keyboard.press('Enter');
  await expect(jump).toHaveCount(0);
  const composer = panel.getByRole('textbox', { name: 'Message' });
  await expect(composer).toBeFocused();

  const text = unique('Typed without a mouse');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  const log = panel.getByRole('log', { name: '#internal' });
  const mine = log.getByRole('article').filter({ hasText: text });
  await expect(mine).toBeVisible();
  await expect(composer).toHaveValue('');
  await expect(composer).toBeFocused();

  // ↑ in the empty composer edits the last message once it is sent (not while it is
  // still sending); Enter saves, back in the composer.
  await expect(mine.getByText('Sending…')).toHaveCount(0);
  await page.keyboard.press('ArrowUp');
  // (While it is edited, its text is in the box, so it is found by the box.)
  const editBox = log.getByRole('textbox', { name: 'Edit message' });
  await expect(editBox).toHaveValue(text);
  await expect(editBox).toBeFocused();
  await page.keyboard.type(' (fixed)');
  await page.keyboard.press('Enter');
  await expect(mine).toContainText(`${text} (fixed)`);
  await expect(mine).toContainText('(edited)');
  await expect(composer).toBeFocused();

  // Esc closes the widget and gives the keyboard back to the launcher.
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(page.getByRole('button', { name: /^Open chat/ })).toBeFocused();
  expect(errors).toEqual([]);
});
