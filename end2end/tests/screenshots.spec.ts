import { expect, test } from '@playwright/test';
import { done, live, signIn } from './helpers';

// Pictures of the widget and /chat at desktop and phone sizes, written to
// docs/screenshots/ so that a person looks at them. Runs with the other browser tests.
const out = (name: string) => `../docs/screenshots/${name}.png`;
const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };

test('screenshots: widget closed and open, /chat, at desktop and phone sizes', async ({ browser }) => {
  for (const [size, viewport] of [['desktop', desktop], ['phone', phone]] as const) {
    const carol = await signIn(browser, 'carol', viewport);
    await live(carol.page);
    await carol.page.goto('/dashboard/orders');
    await live(carol.page);
    await carol.page.screenshot({ path: out(`widget-closed-${size}`) });

    await carol.page.getByRole('button', { name: 'Open chat' }).click();
    await expect(carol.page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
    await carol.page.screenshot({ path: out(`widget-list-${size}`) });
    await carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: '#oracare-team' }).click();
    await expect(carol.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').first()).toBeVisible();
    await carol.page.screenshot({ path: out(`widget-open-${size}`) });
    await carol.page.getByRole('button', { name: 'Minimise chat' }).click();

    await carol.page.goto('/chat/oracare-team');
    await expect(carol.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').first()).toBeVisible();
    await live(carol.page);
    await carol.page.screenshot({ path: out(`chat-${size}`) });
    if (size === 'phone') {
      await carol.page.goto('/chat');
      await carol.page.screenshot({ path: out(`chat-list-${size}`) });
    }
    await done(carol);
  }
});
