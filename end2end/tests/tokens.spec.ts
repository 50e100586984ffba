import { test, expect } from '@playwright/test';
import { signIn, live, done, unique } from './helpers';

test('a token made at /account posts through the REST API, live, until revoked', async ({ browser, request }) => {
  const bob = await signIn(browser, 'bob');
  const alice = await signIn(browser, 'alice');
  await alice.page.goto('/chat/internal');
  await live(alice.page);

  await bob.page.goto('/account');
  await live(bob.page);
  await expect(bob.page.getByRole('heading', { name: 'Your account', level: 1 })).toBeVisible();
  await bob.page.getByRole('textbox', { name: 'Token name' }).fill('Shift report bot');
  await bob.page.getByRole('checkbox', { name: /May post messages/ }).check();
  await bob.page.getByRole('button', { name: 'Make token' }).click();
  const secret = await bob.page.getByRole('textbox', { name: 'New token' }).inputValue();
  expect(secret).toMatch(/^parley_pat_[0-9a-f]{64}$/);
  await expect(bob.page.getByRole('button', { name: 'Revoke Shift report bot' })).toBeVisible();
  await bob.page.screenshot({ path: '../docs/screenshots/account.png' });

  const headers = { Authorization: `Bearer ${secret}` };
  const list = await request.get('/api/v1/conversations', { headers });
  expect(list.status()).toBe(200);
  const internal = (await list.json()).find((c: { slug: string }) => c.slug === 'internal');
  const text = unique('posted by the shift report bot');
  const posted = await request.post(`/api/v1/conversations/${internal.id}/messages`, { headers, data: { body: text } });
  expect(posted.status()).toBe(201);
  // Alice sees it at once, from bob.
  const article = alice.page.getByRole('article').filter({ hasText: text });
  await expect(article).toHaveCount(1);
  await expect(article).toContainText('Bob');

  await bob.page.getByRole('button', { name: 'Revoke Shift report bot' }).click();
  await expect(bob.page.getByText(/^revoked /)).toBeVisible();
  const refused = await request.post(`/api/v1/conversations/${internal.id}/messages`, { headers, data: { body: 'after revoking' } });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).code).toBe('unauthenticated');
  await done(bob, alice);
});
