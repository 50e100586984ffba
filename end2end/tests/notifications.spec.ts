import { test, expect } from '@playwright/test';
import { done, live, send, signIn, unique } from './helpers';

// The browser's Notification, watched: every notification made is recorded (and still
// made), and the page can be "hidden" as when its tab is in the background.
function watchNotifications() {
  const Real = window.Notification;
  (window as any).notes = [];
  (window as any).hidden = false;
  class Watched extends Real {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      (window as any).notes.push({ title, body: options?.body, tag: options?.tag });
    }
  }
  Object.defineProperty(Watched, 'permission', { get: () => Real.permission });
  (Watched as any).requestPermission = Real.requestPermission.bind(Real);
  (window as any).Notification = Watched;
  Object.defineProperty(document, 'visibilityState', {
    get: () => ((window as any).hidden ? 'hidden' : 'visible'),
  });
}

test('direct messages and mentions notify while hidden, one per conversation; muted ones do not', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  await bob.context.grantPermissions(['notifications']);
  await bob.page.addInitScript(watchNotifications);
  await bob.page.goto('/dashboard');
  await live(bob.page);
  const notes = () => bob.page.evaluate(() => (window as any).notes as { title: string; body: string; tag: string }[]);

  // Carol writes to bob directly, twice, while his tab is hidden.
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/chat');
  await live(carol.page);
  await carol.page.getByRole('button', { name: 'New message' }).click();
  await carol.page.getByRole('button', { name: /Bob Baker/ }).click();
  await expect(carol.page.getByRole('log', { name: 'Bob Baker' })).toBeVisible();
  await bob.page.evaluate(() => { (window as any).hidden = true; });
  const first = unique('Are you there?');
  await send(carol.page, first);
  await send(carol.page, unique('Hello?'));
  await expect.poll(async () => (await notes()).length).toBe(2);
  const [a, b] = await notes();
  expect(a).toMatchObject({ title: 'Carol Chen', body: first });
  expect(b.tag).toBe(a.tag); // the second replaces the first: one per conversation

  // A channel message that does not mention him: no notification; one that does: one.
  await carol.page.goto('/chat/oracare-team');
  await live(carol.page);
  await send(carol.page, unique('Just a note for the channel'));
  await send(carol.page, unique('@bob can you look at 1031?'));
  await expect.poll(async () => (await notes()).length).toBe(3);
  expect((await notes())[2].title).toBe('Carol Chen in #oracare-team');

  // Bob mutes the direct conversation: no more notifications from it, and the badge
  // leaves it out.
  await bob.page.evaluate(() => { (window as any).hidden = false; });
  await bob.page.getByRole('button', { name: /^Open chat/ }).click();
  const panel = bob.page.getByRole('region', { name: 'Chat' });
  await panel.getByRole('link', { name: 'Carol Chen' }).click();
  const mute = panel.getByRole('button', { name: 'Mute' });
  await mute.click();
  await expect(mute).toHaveAttribute('aria-pressed', 'true');
  await panel.getByRole('button', { name: 'Minimise chat' }).click();
  const launcher = bob.page.getByRole('button', { name: /^Open chat/ });
  const before = await launcher.getAttribute('aria-label');
  await bob.page.evaluate(() => { (window as any).hidden = true; });
  await carol.page.goto('/chat');
  await carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: 'Bob Baker' }).click();
  await live(carol.page);
  const quiet = unique('This one is muted');
  await send(carol.page, quiet);
  // The message arrived (bob's list shows it) without a notification or a badge change.
  await bob.page.evaluate(() => { (window as any).hidden = false; });
  await launcher.click();
  await expect(panel.getByRole('log', { name: 'Carol Chen' })).toContainText(quiet);
  expect((await notes()).length).toBe(3);
  await panel.getByRole('button', { name: 'All conversations' }).click();
  await expect(panel.getByRole('listitem').filter({ hasText: 'Carol Chen' }).locator('.muted-mark')).toBeVisible();
  await panel.getByRole('button', { name: 'Minimise chat' }).click();
  expect(await launcher.getAttribute('aria-label')).toBe(before);

  // Kept on the server: after a reload it is still muted.
  await bob.page.reload();
  await live(bob.page);
  await launcher.click();
  await panel.getByRole('link', { name: 'Carol Chen' }).click();
  await expect(panel.getByRole('button', { name: 'Mute' })).toHaveAttribute('aria-pressed', 'true');
  // Another tab of bob's follows the unmute live (it is an event, not a preference read
  // at the next load).
  const otherTab = await bob.context.newPage();
  await otherTab.goto('/chat');
  await live(otherTab);
  const mark = otherTab.getByRole('navigation', { name: 'Conversations' })
    .getByRole('listitem').filter({ hasText: 'Carol Chen' }).locator('.muted-mark');
  await expect(mark).toBeVisible();
  await panel.getByRole('button', { name: 'Mute' }).click();
  await expect(panel.getByRole('button', { name: 'Mute' })).toHaveAttribute('aria-pressed', 'false');
  await expect(mark).toHaveCount(0);
  await otherTab.close();
  await done(bob, carol);
});
