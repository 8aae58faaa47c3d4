import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestBot, type BotTestEnv } from './support/bot-test-env';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

/**
 * The block list and the quota as people see them, in headless Chromium against a real bot
 * (PostgreSQL, Redis): a moderator blocks a term on the moderation page, the chat shows the
 * refusal under the composer, the footer counts the rounds left. No GPU worker: rounds stay
 * queued. Skipped without Debian's `chromium` (see web-chat.browser.spec.ts).
 */
describe.skipIf(!hasChromium)('block list and quota in the web pages', { timeout: 120_000 }, () => {
  let bot: BotTestEnv;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    bot = await startTestBot('safety_browser', { PROMPT_BLOCKLIST: 'gore', DAILY_ROUND_QUOTA: '1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
  });
  afterAll(async () => {
    await browser?.close();
    await bot?.close();
  });

  it('blocks a term on the moderation page; the chat shows the refusal and the quota', async () => {
    await page.goto(bot.baseUrl + '/moderation.html');
    await page.getByTestId('admin-token').fill(ADMIN_TOKEN);
    await page.getByTestId('admin-token').press('Enter');
    await page.getByRole('button', { name: 'Block list' }).click();
    await expect.poll(() => page.locator('#global-terms').textContent()).toContain('gore');
    await page.getByTestId('block-term').fill('Sheep');
    await page.getByTestId('block-add').click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Block "Sheep": done');
    await expect.poll(() => page.getByTestId('blocked-term-row').count()).toBe(1);
    expect(await page.getByTestId('blocked-term-row').first().textContent()).toContain('sheep');

    await page.goto(bot.baseUrl + '/');
    await page.getByTestId('composer-input').fill('a sheep on a hill');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('composer-error').textContent()).toContain('Your message contains a blocked term: "sheep"');

    await page.getByTestId('composer-input').fill('a quiet hill');
    await page.getByTestId('send').click();
    await expect.poll(() => page.url()).toMatch(/#\/t\//);
    await expect.poll(() => page.locator('#whoami').textContent()).toMatch(/0\/1 rounds left today · next at/);

    await page.getByTestId('new-thread').click();
    await page.getByTestId('composer-input').fill('a river');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('composer-error').textContent()).toContain('You have used your 1 round for the last 24 hours');
    expect((await bot.db.dataSource.query('SELECT count(*)::int AS n FROM rounds'))[0].n).toBe(1);
  });
});
