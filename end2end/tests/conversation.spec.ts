import { expect, test, type Page } from '@playwright/test';
import { done, live, send, signIn, unique } from './helpers';

/** The article of the message holding `text` in the open conversation's log. */
function article(page: Page, text: string) {
  return page.getByRole('log').getByRole('article').filter({ hasText: text });
}

test('an edit and a delete by alice are seen live by bob, with the edit history', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');
  for (const s of [alice, bob]) {
    await s.page.goto('/chat/oracare-team');
    await live(s.page);
  }
  const first = unique('Order 1042 ships monday');
  await send(alice.page, first);
  // While edited its text is in a textbox, so find the article by its place (once the
  // server has given it one: a message still being sent has none).
  await expect(article(alice.page, first)).toHaveAttribute('data-seq', /^\d+$/);
  const seq = await article(alice.page, first).getAttribute('data-seq');
  const mine = alice.page.getByRole('log').locator(`article[data-seq="${seq}"]`);
  await mine.getByRole('button', { name: 'Edit message' }).click();
  const box = mine.getByRole('textbox', { name: 'Edit message' });
  await expect(box).toBeFocused();
  const second = first.replace('monday', 'tuesday');
  await box.fill(second);
  await mine.getByRole('button', { name: 'Save' }).click();

  const atBob = article(bob.page, second);
  await expect(atBob).toContainText('(edited)');
  await expect(article(bob.page, first)).toHaveCount(0);
  // Bob may not edit or delete alice's words; he may reply and react.
  await expect(atBob.getByRole('button', { name: 'Edit message' })).toHaveCount(0);
  await expect(atBob.getByRole('button', { name: 'Delete message' })).toHaveCount(0);
  await expect(atBob.getByRole('button', { name: 'Reply' })).toBeVisible();
  await atBob.getByRole('button', { name: 'Edit history' }).click();
  const history = atBob.getByRole('region', { name: 'Edit history' });
  await expect(history.getByRole('listitem')).toHaveCount(2);
  await expect(history.getByRole('listitem').first()).toContainText(first);
  await bob.page.screenshot({ path: '../docs/screenshots/edit-history-desktop.png' });

  const edited = article(alice.page, second);
  await edited.getByRole('button', { name: 'Delete message' }).click();
  await edited.getByRole('dialog', { name: 'Delete message?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(bob.page.getByRole('log').getByRole('article').filter({ hasText: 'Message deleted' }).last()).toBeVisible();
  await expect(bob.page.getByRole('log')).not.toContainText(second);
  await bob.page.reload();
  await expect(bob.page.getByRole('log', { name: '#oracare-team' })).not.toContainText(second);
  await done(alice, bob);
});

test('reactions toggle live, one per person and emoji', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  for (const s of [alice, carol]) {
    await s.page.goto('/chat/oracare-team');
    await live(s.page);
  }
  const text = unique('Shipped the replacement pallet');
  await send(alice.page, text);
  const atCarol = article(carol.page, text);
  await atCarol.getByRole('button', { name: 'Add reaction' }).click();
  await carol.page.getByRole('menu', { name: 'Reactions' }).getByRole('menuitem', { name: 'thumbs up' }).click();
  await expect(atCarol.getByRole('button', { name: 'thumbs up: 1' })).toHaveAttribute('aria-pressed', 'true');

  const atAlice = article(alice.page, text);
  const up = atAlice.getByRole('button', { name: 'thumbs up: 1' });
  await expect(up).toHaveAttribute('aria-pressed', 'false');
  await up.click();
  await expect(atAlice.getByRole('button', { name: 'thumbs up: 2' })).toHaveAttribute('aria-pressed', 'true');
  await expect(atCarol.getByRole('button', { name: 'thumbs up: 2' })).toHaveAttribute('aria-pressed', 'true');
  await carol.page.screenshot({ path: '../docs/screenshots/reactions-desktop.png' });

  await atCarol.getByRole('button', { name: 'thumbs up: 2' }).click();
  await expect(atAlice.getByRole('button', { name: 'thumbs up: 1' })).toHaveAttribute('aria-pressed', 'true');
  await done(alice, carol);
});

test('a reply quotes its original and jumps to it, loading older history', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  const carol = await signIn(browser, 'carol');
  await carol.page.goto('/chat/oracare-team');
  await live(carol.page);
  const question = unique('When does order 1042 arrive?');
  await send(carol.page, question);

  await bob.page.goto('/chat/oracare-team');
  await live(bob.page);
  await article(bob.page, question).getByRole('button', { name: 'Reply' }).click();
  await expect(bob.page.getByText('Replying to Carol Chen')).toBeVisible();
  const box = bob.page.getByRole('textbox', { name: 'Message' });
  await expect(box).toBeFocused();
  const answer = unique('Tuesday morning');
  await send(bob.page, answer);
  await expect(bob.page.getByText('Replying to Carol Chen')).toHaveCount(0);
  // Enough newer messages that the question is no longer on the first page.
  for (let n = 0; n < 22; n++) {
    await send(bob.page, `filler ${n} ${answer}`);
  }
  await expect(article(carol.page, `filler 21 ${answer}`)).toHaveCount(1);

  await carol.page.reload();
  await live(carol.page);
  await expect(article(carol.page, question)).toHaveCount(0);
  const reply = article(carol.page, answer).filter({ hasNotText: 'filler' });
  await expect(reply).toHaveCount(0); // it is older than the first page too
  // Bring the reply into view by scrolling to the top, then follow its quote.
  const log = carol.page.getByRole('log', { name: '#oracare-team' });
  while ((await reply.count()) === 0) {
    await log.evaluate((el) => el.scrollTo(0, 0));
    await carol.page.waitForTimeout(200);
  }
  await reply.getByRole('link', { name: 'Go to the original message' }).click();
  const original = article(carol.page, question).filter({ hasNot: carol.page.locator('.quote') });
  await expect(original).toHaveAttribute('aria-current', 'true');
  await expect(original).toBeInViewport();
  await carol.page.screenshot({ path: '../docs/screenshots/reply-jump-desktop.png' });
  await done(bob, carol);
});

test('Markdown renders safely: formatting yes, HTML and script links never', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  await alice.page.goto('/chat/internal');
  await live(alice.page);
  const tag = unique('md');
  await send(alice.page, `**bold ${tag}** and \`code\` <img src=x onerror="window.__pwned=1"> [site](https://example.com) [bad](javascript:alert(1))`);
  const body = article(alice.page, tag);
  await expect(body.locator('strong')).toHaveText(`bold ${tag}`);
  await expect(body.locator('code')).toHaveText('code');
  await expect(body.locator('img')).toHaveCount(0);
  await expect(body).toContainText('<img src=x');
  const link = body.getByRole('link', { name: 'site' });
  await expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow');
  await expect(body.getByRole('link', { name: 'bad' })).toHaveCount(0);
  expect(await alice.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  // The server's first paint renders it the same way (no hydration mismatch on reload).
  await alice.page.reload();
  await live(alice.page);
  await expect(article(alice.page, tag).locator('strong')).toHaveText(`bold ${tag}`);
  await done(alice);
});

test('@ offers only the people who can see the conversation; the members panel shows presence', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  await alice.page.goto('/chat/oracare-team');
  await carol.page.goto('/chat/oracare-team');
  await live(alice.page);
  await live(carol.page);

  const members = alice.page.getByRole('complementary', { name: 'Members' });
  const carolEntry = members.getByRole('listitem').filter({ hasText: 'Carol Chen' });
  await expect(carolEntry).toContainText('online');
  await expect(members.getByRole('listitem').filter({ hasText: 'Dave Diaz' })).toHaveCount(0);

  const box = carol.page.getByRole('textbox', { name: 'Message' });
  await box.fill('');
  await box.pressSequentially('Thanks @');
  const list = carol.page.getByRole('listbox', { name: 'Mention someone' });
  await expect(list.getByRole('option', { name: 'Alice Adams' })).toBeVisible();
  await expect(list.getByRole('option', { name: 'Bob Baker' })).toBeVisible();
  await expect(list.getByRole('option', { name: '@channel' })).toBeVisible();
  await expect(list.getByRole('option', { name: 'Dave Diaz' })).toHaveCount(0);
  await expect(list.getByRole('option', { name: 'Carol Chen' })).toHaveCount(0);
  await box.pressSequentially('bo');
  await expect(list.getByRole('option')).toHaveCount(1);
  await carol.page.screenshot({ path: '../docs/screenshots/mention-list-desktop.png' });
  await box.press('Enter');
  await expect(box).toHaveValue('Thanks @bob ');
  await expect(list).toHaveCount(0);
  const text = unique('for the update');
  await box.pressSequentially(text);
  await box.press('Enter');
  await expect(box).toHaveValue('');
  await alice.page.goto('/chat/internal');
  const bob = await signIn(browser, 'bob');
  await bob.page.goto('/chat/oracare-team');
  await expect(article(bob.page, text)).toHaveClass(/mentions-me/);
  await done(alice, bob, carol);
});

test('search finds what carol may see, highlights it and opens the conversation at it', async ({ browser }) => {
  const bob = await signIn(browser, 'bob');
  const carol = await signIn(browser, 'carol');
  await bob.page.goto('/chat/internal');
  await live(bob.page);
  const word = `pallet${Math.random().toString(36).slice(2, 7)}`;
  await send(bob.page, `Staff only: ${word} was our fault`);
  await bob.page.goto('/chat/oracare-team');
  await live(bob.page);
  const shared = `The damaged ${word} is replaced`;
  await send(bob.page, shared);
  for (let n = 0; n < 21; n++) await send(bob.page, `later news ${n}`);

  await carol.page.goto('/chat');
  await live(carol.page);
  const box = carol.page.getByRole('searchbox', { name: 'Search messages' });
  await box.fill(word);
  await box.press('Enter');
  const results = carol.page.getByRole('list', { name: 'Search results' });
  await expect(results.getByRole('link')).toHaveCount(1);
  const hit = results.getByRole('link').first();
  await expect(hit).toContainText('#oracare-team');
  await expect(hit.locator('mark')).toHaveText(word);
  await carol.page.screenshot({ path: '../docs/screenshots/search-desktop.png' });
  await hit.click();
  await expect(carol.page).toHaveURL(/\/chat\/oracare-team$/);
  const found = carol.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').filter({ hasText: shared });
  await expect(found).toHaveAttribute('aria-current', 'true');
  await expect(found).toBeInViewport();
  await done(bob, carol);
});

test('a group is created, joined live, and left', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  const dave = await signIn(browser, 'dave');
  for (const s of [alice, carol, dave]) {
    await s.page.goto('/chat');
    await live(s.page);
  }
  // Guests are not offered "New group".
  await expect(carol.page.getByRole('button', { name: 'New group' })).toHaveCount(0);

  const name = unique('Pallet recall');
  await alice.page.getByRole('button', { name: 'New group' }).click();
  const dialog = alice.page.getByRole('dialog', { name: 'New group' });
  // Escape closes a dialog.
  await dialog.getByRole('textbox', { name: 'Group name' }).press('Escape');
  await expect(dialog).toHaveCount(0);
  await alice.page.getByRole('button', { name: 'New group' }).click();
  // Tab and Shift+Tab stay inside the dialog (it is modal).
  const inDialog = () => alice.page.evaluate(() => document.activeElement?.closest('[role=dialog]')?.getAttribute('aria-label') ?? null);
  await dialog.getByRole('textbox', { name: 'Group name' }).focus();
  for (let i = 0; i < 15; i++) {
    await alice.page.keyboard.press('Tab');
    expect(await inDialog(), `after ${i + 1} Tab`).toBe('New group');
  }
  for (let i = 0; i < 15; i++) {
    await alice.page.keyboard.press('Shift+Tab');
    expect(await inDialog(), `after ${i + 1} Shift+Tab`).toBe('New group');
  }
  await dialog.getByRole('textbox', { name: 'Group name' }).fill(name);
  await dialog.getByRole('checkbox', { name: /Bob Baker/ }).check();
  await dialog.getByRole('checkbox', { name: /Carol Chen/ }).check();
  await alice.page.screenshot({ path: '../docs/screenshots/new-group-desktop.png' });
  await dialog.getByRole('button', { name: 'Create group' }).click();
  await expect(alice.page.getByRole('log', { name })).toBeVisible();

  const carolsLink = carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name });
  await expect(carolsLink).toBeVisible();
  const hello = unique('Welcome to the group');
  await send(alice.page, hello);
  await carolsLink.click();
  await expect(carol.page.getByRole('log', { name }).getByRole('article').filter({ hasText: hello })).toHaveCount(1);
  await expect(carol.page.getByRole('button', { name: 'Add people' })).toHaveCount(0);

  await alice.page.getByRole('button', { name: 'Add people' }).click();
  const adding = alice.page.getByRole('dialog', { name: 'Add people' });
  await adding.getByRole('checkbox', { name: /Dave Diaz/ }).check();
  await adding.getByRole('button', { name: 'Add' }).click();
  await expect(dave.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name })).toBeVisible();

  await carol.page.getByRole('button', { name: 'Leave group' }).click();
  await carol.page.getByRole('dialog', { name: 'Leave group?' }).getByRole('button', { name: 'Leave' }).click();
  await expect(carol.page).toHaveURL(/\/chat$/);
  await expect(carolsLink).toHaveCount(0);
  await send(alice.page, unique('after carol left'));
  await carol.page.reload();
  await expect(carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name })).toHaveCount(0);
  await done(alice, carol, dave);
});

test('an admin creates a channel for internal staff: it appears for bob, not for carol; exports download', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');
  const carol = await signIn(browser, 'carol');
  for (const s of [bob, carol]) {
    await s.page.goto('/chat');
    await live(s.page);
  }
  const refused = await carol.page.goto('/admin');
  expect(refused?.status()).toBe(403);
  await carol.page.goto('/chat');
  await live(carol.page);

  await alice.page.goto('/admin');
  await live(alice.page);
  for (const heading of ['Users', 'Channels', 'Settings', 'Audit log']) {
    await expect(alice.page.getByRole('heading', { name: heading })).toBeVisible();
  }
  const name = `night-${Math.random().toString(36).slice(2, 7)}`;
  await alice.page.getByRole('button', { name: 'New channel' }).click();
  const dialog = alice.page.getByRole('dialog', { name: 'New channel' });
  await dialog.getByRole('textbox', { name: 'Channel name' }).fill(name);
  await dialog.getByRole('checkbox', { name: /Axiom Fulfillment/ }).check();
  await dialog.getByRole('button', { name: 'Create channel' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(alice.page.locator('.admin-channels').getByRole('link', { name: `#${name}` })).toBeVisible();

  await expect(bob.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: `#${name}` })).toBeVisible();
  await carol.page.waitForTimeout(500);
  await expect(carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: `#${name}` })).toHaveCount(0);

  const row = alice.page.locator('.admin-channels li').filter({ hasText: `#${name}` });
  const download = alice.page.waitForEvent('download');
  await row.getByRole('link', { name: 'Export CSV' }).click();
  expect((await download).suggestedFilename()).toBe(`parley-${name}.csv`);
  await alice.page.reload();
  await expect(alice.page.getByRole('table').last()).toContainText('channel created');
  await alice.page.screenshot({ path: '../docs/screenshots/admin-desktop.png', fullPage: true });
  await done(alice, bob, carol);
});

test('an image uploaded by alice is seen by carol and refused to dave', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const carol = await signIn(browser, 'carol');
  const dave = await signIn(browser, 'dave');
  for (const s of [alice, carol]) {
    await s.page.goto('/chat/oracare-team');
    await live(s.page);
  }
  await expect(alice.page.getByRole('button', { name: 'Attach file' })).toBeVisible();
  // A photo-sized PNG (640 x 400), drawn in the page, so the server has a real thumbnail to make.
  const dataUrl = await alice.page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 400;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#8b5a2b';
    g.fillRect(0, 0, 640, 400);
    g.fillStyle = '#d9a066';
    for (let y = 40; y < 400; y += 90) g.fillRect(20, y, 600, 50);
    g.fillStyle = '#b91c1c';
    g.fillRect(420, 120, 140, 160);
    return canvas.toDataURL('image/png');
  });
  const photo = Buffer.from(dataUrl.split(',')[1], 'base64');
  const name = `pallet-${Math.random().toString(36).slice(2, 7)}.png`;
  await alice.page.locator('input[type="file"]').setInputFiles({ name, mimeType: 'image/png', buffer: photo });
  await expect(alice.page.locator('.upload').filter({ hasText: name })).toContainText('ready');
  await send(alice.page, 'Photo of the damaged pallet');

  const atCarol = carol.page.getByRole('log', { name: '#oracare-team' }).getByRole('article').filter({ has: carol.page.getByRole('img', { name }) });
  await expect(atCarol).toHaveCount(1);
  // The image shows as the server's thumbnail, scaled to fit 320 px.
  const thumbnail = atCarol.getByRole('img', { name });
  await expect
    .poll(() => thumbnail.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)))
    .toBe(320);
  const link = atCarol.getByRole('link', { name });
  await expect(link).toBeVisible();
  const href = await link.getAttribute('href');
  const own = await carol.page.request.get(href!);
  expect(own.status()).toBe(200);
  expect(own.headers()['x-content-type-options']).toBe('nosniff');
  const refused = await dave.page.request.get(href!);
  expect(refused.status()).toBe(404);
  await carol.page.screenshot({ path: '../docs/screenshots/attachment-desktop.png' });
  await done(alice, carol, dave);
});

test('an admin creates an account, which signs in once with its one-time password, then disables it', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  await alice.page.goto('/admin');
  await live(alice.page);
  const username = `erin${Math.random().toString(36).slice(2, 6)}`;
  await alice.page.getByRole('button', { name: 'New user' }).click();
  const dialog = alice.page.getByRole('dialog', { name: 'New user' });
  await dialog.getByRole('textbox', { name: 'Username' }).fill(username);
  await dialog.getByRole('combobox', { name: 'Organisation' }).selectOption({ label: 'Oracare (client)' });
  // A name of nothing visible (zero-width spaces, a bidi override) is refused, the form kept.
  await dialog.getByRole('textbox', { name: 'Display name' }).fill('\u200B\u200B\u202E');
  await dialog.getByRole('button', { name: 'Create user' }).click();
  await expect(dialog.getByRole('alert')).toContainText('some of them visible');
  await expect(dialog.getByRole('textbox', { name: 'Username' })).toHaveValue(username);
  await dialog.getByRole('textbox', { name: 'Display name' }).fill('Erin Ellis');
  await dialog.getByRole('button', { name: 'Create user' }).click();
  const issued = alice.page.getByRole('status').filter({ hasText: 'One-time password for Erin Ellis' });
  await expect(issued).toBeVisible();
  const password = (await issued.locator('code').textContent())!;

  const erin = await browser.newContext();
  const page = await erin.newPage();
  await page.goto('/login');
  await page.getByRole('textbox', { name: 'Username' }).fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account\/password/);

  await alice.page.getByRole('button', { name: 'Disable Erin Ellis' }).click();
  await expect(alice.page.getByRole('button', { name: 'Enable Erin Ellis' })).toBeVisible();
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/login/);
  await erin.close();
  await done(alice);
});

test('an admin renames a channel, takes guests out and archives it: everyone sees it live', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');
  const carol = await signIn(browser, 'carol');
  await alice.page.goto('/admin');
  await live(alice.page);
  const name = `dock-${Math.random().toString(36).slice(2, 7)}`;
  await alice.page.getByRole('button', { name: 'New channel' }).click();
  const created = alice.page.getByRole('dialog', { name: 'New channel' });
  await created.getByRole('textbox', { name: 'Channel name' }).fill(name);
  await created.getByRole('checkbox', { name: /Axiom Fulfillment/ }).check();
  await created.getByRole('checkbox', { name: /Oracare/ }).check();
  await expect(created.getByRole('checkbox', { name: 'guests' })).toBeChecked();
  await created.getByRole('button', { name: 'Create channel' }).click();
  await expect(created).toHaveCount(0);
  const row = alice.page.locator('.admin-channels li').filter({ hasText: `#${name}` });
  await expect(row).toBeVisible();

  for (const s of [bob, carol]) {
    await s.page.goto(`/chat/${name}`);
    await live(s.page);
  }
  await send(carol.page, 'Is the dock open on Sunday?');
  const carolsLink = carol.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: `#${name}` });
  await expect(carolsLink).toBeVisible();

  // Renamed, guests out: carol loses it at once, bob sees the new name.
  await row.getByRole('button', { name: 'Edit channel' }).click();
  const editing = alice.page.getByRole('dialog', { name: 'Edit channel' });
  await editing.getByRole('textbox', { name: 'Channel name' }).fill(`${name}-team`);
  await editing.getByRole('checkbox', { name: 'guests' }).uncheck();
  await editing.getByRole('button', { name: 'Save channel' }).click();
  await expect(editing).toHaveCount(0);
  await expect(carolsLink).toHaveCount(0);
  await expect(carol.page.getByRole('log', { name: `#${name}` })).toHaveCount(0);
  await expect(bob.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: `#${name}-team` })).toBeVisible();
  await expect(bob.page.getByRole('log', { name: `#${name}-team` }).getByRole('article')).toContainText('Is the dock open on Sunday?');
  await expect(bob.page.getByRole('complementary', { name: 'Members' })).not.toContainText('Carol Chen');

  // Archived: read-only, said so where the composer was.
  await alice.page.locator('.admin-channels li').filter({ hasText: `#${name}-team` }).getByRole('button', { name: 'Edit channel' }).click();
  await alice.page.getByRole('dialog', { name: 'Edit channel' }).getByRole('checkbox', { name: /Archived/ }).check();
  await alice.page.getByRole('dialog', { name: 'Edit channel' }).getByRole('button', { name: 'Save channel' }).click();
  await expect(bob.page.getByText('This channel is archived')).toBeVisible();
  await expect(bob.page.getByRole('textbox', { name: 'Message' })).toHaveCount(0);
  await expect(bob.page.getByRole('button', { name: 'Reply' })).toHaveCount(0);
  await bob.page.screenshot({ path: '../docs/screenshots/archived-channel.png' });
  await alice.page.reload();
  await expect(alice.page.getByRole('table').last()).toContainText('channel archived');
  await done(alice, bob, carol);
});

test('an admin sets how long messages are kept and which files may be attached', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  await alice.page.goto('/admin');
  await live(alice.page);
  const form = () => alice.page.getByRole('form', { name: 'Messages and files' });
  await form().getByRole('spinbutton', { name: 'Keep messages for days' }).fill('365');
  await form().getByRole('checkbox', { name: 'text/csv' }).uncheck();
  await form().getByRole('button', { name: 'Save' }).click();
  await expect(form().getByRole('status')).toHaveText('Saved.');
  await alice.page.reload();
  await live(alice.page);
  await expect(form().getByRole('spinbutton', { name: 'Keep messages for days' })).toHaveValue('365');
  await expect(form().getByRole('checkbox', { name: 'text/csv' })).not.toBeChecked();
  await expect(alice.page.getByRole('table').last()).toContainText('settings changed');
  // Back as it was, for the other tests.
  await form().getByRole('spinbutton', { name: 'Keep messages for days' }).fill('');
  await form().getByRole('checkbox', { name: 'text/csv' }).check();
  await form().getByRole('button', { name: 'Save' }).click();
  await expect(form().getByRole('status')).toHaveText('Saved.');
  await done(alice);
});
