// Time to interactive of /dashboard in Chromium, cold (a new browser context, nothing
// cached): from navigation start until the page is hydrated and its live connection is
// up (<html data-connection="online">). Usage: node first-load.mjs URL [runs]
import { chromium } from '@playwright/test';

const [url, runs = '5'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const times = [];
for (let i = 0; i < Number(runs); i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.getByRole('textbox', { name: 'Username' }).fill('alice');
  await page.getByLabel('Password').fill('parley-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard$/);
  await context.clearCookies({ name: 'nothing' });
  // Cold again: a fresh context holding only the session cookie.
  const cookies = await context.cookies();
  const cold = await browser.newContext();
  await cold.addCookies(cookies);
  const fresh = await cold.newPage();
  const start = Date.now();
  await fresh.goto(`${url}/dashboard`);
  fresh.on('pageerror', (e) => console.error('page error:', e.message));
  fresh.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
  await fresh.waitForSelector('html[data-connection="online"]', { state: 'attached', timeout: 60_000 });
  times.push(Date.now() - start);
  await cold.close();
  await context.close();
}
await browser.close();
times.sort((a, b) => a - b);
console.log(`time to interactive, /dashboard, cold: median ${times[Math.floor(times.length / 2)]} ms (runs: ${times.join(', ')} ms)`);
