// The admin pages (/admin/) in real Chromium with JavaScript OFF, against a
// real backfeed seeded by tests/it/admin_browser.rs: sign in, approve a
// pending mention and see it in the widget, block a domain, retry a failed
// post and a dead job, sign out; forms without the CSRF token or from
// another origin are refused. Also: labels, keyboard, contrast in light and
// dark, no sideways scrolling on a phone, and the small script's "select
// all" when JavaScript is on. Skipped unless BACKFEED_ADMIN_TOKEN is set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumArgs, embedUrl, flatten, openWidget, outputDir, snapshot, testBed } from './harness.mjs';

const env = process.env;
const skip = !(env.BACKFEED_URL && env.BACKFEED_ADMIN_TOKEN)
  && 'set BACKFEED_URL and BACKFEED_ADMIN_TOKEN and seed the data (tests/it/admin_browser.rs does)';
const bed = skip ? null : testBed();
const admin = (path = '') => `${env.BACKFEED_URL.replace(/\/+$/, '')}/admin/${path}`;

/** A browser profile with JavaScript off, as a cautious operator may run. */
async function withoutJavaScript() {
  const profile = await mkdtemp(join(tmpdir(), 'backfeed-admin-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    javaScriptEnabled: false,
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 1100, height: 900 },
  });
  return { context, close: async () => { await context.close(); await rm(profile, { recursive: true, force: true }); } };
}

async function signIn(page, next = '', { fresh = true } = {}) {
  await page.goto(admin(next));
  if (!fresh && !new URL(page.url()).pathname.endsWith('/sign-in')) return;
  assert.match(new URL(page.url()).pathname, /\/admin\/sign-in$/, 'signed out, a page sends you to sign in');
  await page.getByLabel('Admin token').fill(env.BACKFEED_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.endsWith('/sign-in'));
}

const notice = (page) => page.locator('main .notice').textContent();

async function shoot(page, name) {
  await mkdir(outputDir, { recursive: true });
  await page.screenshot({ path: join(outputDir, name), fullPage: true });
}

/** Contrast of the page's text kinds against the page's background, composited. */
function contrasts(page) {
  return page.evaluate(() => {
    const ctx = Object.assign(document.createElement('canvas'), { width: 1, height: 1 }).getContext('2d', { willReadFrequently: true });
    const paint = (el, colour) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) layers.unshift(getComputedStyle(e).backgroundColor);
      for (const c of ['#fff', ...layers, ...(colour ? [colour] : [])]) { ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1); }
      return [...ctx.getImageData(0, 0, 1, 1).data].slice(0, 3);
    };
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const out = {};
    for (const sel of ['h1', 'main td', 'main th', 'main a', '.muted', '.hint', '.reason', '.state', '.top nav a', 'button']) {
      const el = document.querySelector(sel);
      if (el) out[sel] = ratio(paint(el, getComputedStyle(el).color), paint(el));
    }
    return out;
  });
}

test('the admin pages, with JavaScript off', { skip }, async (t) => {
  const browser = await withoutJavaScript();
  const page = await browser.context.newPage();
  t.after(() => browser.close());

  await t.test('sign in with the admin token, and land on the page asked for', async () => {
    await signIn(page, 'mentions?tab=pending');
    assert.equal(new URL(page.url()).search, '?tab=pending');
    assert.equal(await page.locator('h1').textContent(), 'Mentions');
  });

  await t.test('the overview: counts, the chart, the queue, the store and version (screenshots)', async () => {
    await page.goto(admin());
    assert.equal(await page.locator('h1').textContent(), 'Overview');
    assert.equal(await page.locator('svg.chart[role=img]').count(), 1);
    assert.match(await page.locator('#chart-desc').textContent(), /\d+ Mastodon replies and \d+ webmentions in the last 30 days/);
    const system = await page.locator('section[aria-labelledby=system-h]').textContent();
    assert.match(system, /test-rev/);
    assert.match(system, /SQLite/);
    assert.match(await page.locator('ul.errors').textContent(), /character limit/, 'the refused post is among the last errors');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [what, ratio] of Object.entries(await contrasts(page))) assert.ok(ratio >= 4.5, `${scheme} ${what} contrast ${ratio.toFixed(2)}`);
      await shoot(page, `admin-overview-${scheme}.png`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await t.test('keyboard: the first Tab reaches "Skip to content", with a focus ring; every field has a label', async () => {
    await page.goto(admin('mentions?tab=pending'));
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({ text: document.activeElement.textContent, outline: getComputedStyle(document.activeElement).outlineStyle }));
    assert.equal(focused.text, 'Skip to content');
    assert.notEqual(focused.outline, 'none');
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.outerHTML));
    assert.deepEqual(unlabelled, []);
    const nameless = await page.evaluate(() => [...document.querySelectorAll('button, a')].filter((el) => !el.textContent.trim()).map((el) => el.outerHTML));
    assert.deepEqual(nameless, []);
  });

  await t.test('approve a pending mention, then it appears in the widget (screenshots of the list)', async () => {
    await page.goto(admin('mentions?tab=pending'));
    const row = page.locator('tr', { hasText: env.BACKFEED_ADMIN_PENDING_SOURCE });
    assert.equal(await row.count(), 1);
    assert.match(await row.textContent(), /Wendy/);
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [what, ratio] of Object.entries(await contrasts(page))) assert.ok(ratio >= 4.5, `${scheme} ${what} contrast ${ratio.toFixed(2)}`);
      await shoot(page, `admin-mentions-${scheme}.png`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await row.getByRole('checkbox').check();
    await page.locator('form div.actions').first().getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/done=approve/);
    assert.equal(await notice(page), 'Approved 1 mention.');
    assert.equal(await page.locator('tr', { hasText: env.BACKFEED_ADMIN_PENDING_SOURCE }).count(), 0, 'no longer pending');

    const { page: widget, state } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, env.BACKFEED_ADMIN_POST));
    assert.equal(state, 'loaded');
    const shown = flatten((await snapshot(widget)).thread);
    const approved = shown.find((c) => c.id === `webmention:${env.BACKFEED_ADMIN_PENDING_ID}`);
    assert.ok(approved, `the widget shows the approved mention: ${JSON.stringify(shown.map((c) => c.id))}`);
    assert.equal(approved.name, 'Wendy');
    await widget.close();
  });

  await t.test('block a domain', async () => {
    await page.goto(admin('blocks'));
    await page.getByLabel('Block a domain').fill('spam.example');
    await page.getByLabel('Block a domain').press('Enter');
    await page.waitForURL(/done=block/);
    assert.equal(await notice(page), 'Blocked; 0 mentions from it hidden.');
    assert.deepEqual(await page.locator('ul[aria-labelledby=blocked-h] code').allTextContents(), ['spam.example']);
  });

  await t.test('retry a failed post', async () => {
    await page.goto(admin('posts?state=failed'));
    const row = page.locator('tr', { hasText: env.BACKFEED_ADMIN_FAILED_POST });
    assert.match(await row.textContent(), /character limit of 500 exceeded/);
    await row.getByRole('button', { name: /^Retry/ }).click();
    await page.waitForURL(/done=retry/);
    assert.equal(await notice(page), 'Announced the post again.');
    await page.goto(admin('posts?state=announced'));
    const announced = page.locator('tr', { hasText: env.BACKFEED_ADMIN_FAILED_POST });
    assert.match(await announced.locator('td[data-label=Toot] a').getAttribute('href'), /\/@testuser\/\w+$/, 'the toot is linked');
  });

  await t.test('retry a dead job', async () => {
    await page.goto(admin('jobs?state=dead'));
    const row = page.locator(`tr[data-id="${env.BACKFEED_ADMIN_DEAD_JOB}"]`);
    assert.match(await row.textContent(), /deliver-webhook/);
    assert.match(await row.locator('td[data-label="Last error"]').textContent(), /503/);
    await row.getByRole('button', { name: /^Retry/ }).click();
    await page.waitForURL(/done=retry/);
    assert.equal(await notice(page), 'The job is queued to run now.');
    assert.equal(await page.locator(`tr[data-id="${env.BACKFEED_ADMIN_DEAD_JOB}"]`).count(), 0, 'no longer dead');
  });

  await t.test('on a phone, nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    for (const path of ['', 'posts', 'jobs', 'blocks', 'comments', 'mentions?tab=all']) {
      await page.goto(admin(path));
      const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scroll <= width, `${path || 'overview'}: ${scroll} > ${width}`);
    }
    await shoot(page, 'admin-mentions-phone.png');
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  await t.test('sign out', async () => {
    await page.goto(admin());
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/sign-in\?signed-out=1/);
    assert.equal(await notice(page), 'Signed out.');
    await page.goto(admin('jobs'));
    assert.match(new URL(page.url()).pathname, /\/admin\/sign-in$/, 'the pages need signing in again');
  });
});

test('forms without the CSRF token, or from another origin, are refused', { skip }, async () => {
  const page = await bed.browser.context.newPage();
  await signIn(page, 'blocks');
  const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
  assert.ok(csrf);

  // Our own origin, but no token.
  await page.setContent('<form method="post" action="blocks"><input name="domain" value="nocsrf.example"><button>Block</button></form>');
  await page.getByRole('button', { name: 'Block' }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('[role=alert]').textContent(), /CSRF token is missing or wrong/);

  // Another origin (the blog's), with a stolen token.
  await page.goto(`${bed.servers.site}/posts/attack/`);
  await page.setContent(`<form method="post" action="${admin('blocks')}"><input type="hidden" name="csrf" value="${csrf}"><input name="domain" value="evil.example"><button>Win a prize</button></form>`);
  await page.getByRole('button', { name: 'Win a prize' }).click();
  await page.waitForURL((url) => url.href.startsWith(admin('blocks')));
  assert.match(await page.locator('[role=alert]').textContent(), /sent from another site/);

  await page.goto(admin('blocks'));
  const blocked = await page.locator('ul[aria-labelledby=blocked-h] code').allTextContents();
  assert.ok(!blocked.includes('nocsrf.example') && !blocked.includes('evil.example'), `nothing refused was done: ${blocked}`);
  await page.close();
});

test('with JavaScript on, lists get a "select all" box', { skip }, async () => {
  const page = await bed.browser.context.newPage();
  await signIn(page, 'mentions?tab=all', { fresh: false });
  const all = page.getByRole('checkbox', { name: 'Select all rows' });
  await all.check();
  const boxes = page.locator('tbody input[type=checkbox][name=id]');
  const n = await boxes.count();
  assert.ok(n >= 1);
  for (let i = 0; i < n; i++) assert.ok(await boxes.nth(i).isChecked());
  assert.equal(await page.locator('#selected-count').textContent(), `${n} selected`);
  await page.close();
});
