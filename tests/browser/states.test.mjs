// The widget's states: loading, empty, error with retry (and recovery), and
// its defaults (src from the script's own URL, url from the page without
// query and fragment). All announced through a polite live region.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiJson, embedUrl, fixture, openWidget, real, scenarios, screenshot, snapshot, waitForState, testBed,
} from './harness.mjs';

const bed = testBed();

const suffix = real ? '-real' : '';

test('while loading, the widget says so and is busy', async () => {
  let release;
  const held = new Promise((ok) => { release = ok; });
  const page = await bed.browser.context.newPage();
  await page.route('**/api/comments?**', async (route) => {
    await held;
    await route.fulfill({ status: 200, contentType: 'application/json', headers: { 'access-control-allow-origin': '*' }, body: await fixture('empty.json', bed.servers.site) });
  });
  await page.goto(embedUrl(bed.servers.site, scenarios.empty || 'https://blog.example/posts/quiet/'));
  const box = page.locator('backfeed-comments .bf[data-state=loading]');
  await box.waitFor({ state: 'attached' });
  assert.equal(await box.getAttribute('aria-busy'), 'true');
  assert.equal(await page.locator('backfeed-comments .status').textContent(), 'Loading comments…');
  assert.equal(await page.locator('backfeed-comments .status').getAttribute('aria-live'), 'polite');
  release();
  assert.equal(await waitForState(page), 'empty');
  assert.equal(await page.locator('backfeed-comments .bf').getAttribute('aria-busy'), 'false');
  await page.close();
});

test('a post without comments shows the empty state', {
  skip: !scenarios.empty && 'set BACKFEED_EMPTY_URL (tests/browser/README.md)',
}, async () => {
  const data = await apiJson(bed.servers.backend, scenarios.empty);
  const { page, dialogs, state } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.empty));
  const view = await snapshot(page);
  assert.equal(state, 'empty');
  assert.match(view.status, /^No comments yet/);
  assert.equal(view.statusLive, 'polite');
  assert.deepEqual(view.thread, []);
  assert.equal(view.retry, null);
  if (data.toot) assert.equal(view.reply, new URL(data.toot.url).href, 'still invites a reply');
  assert.deepEqual(dialogs, []);
  await screenshot(page, `empty-light${suffix}.png`);
  await page.close();
});

test('an error answer shows the error state; "Try again" fetches again', async () => {
  const { page, apiRequests, state } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.error));
  let view = await snapshot(page);
  assert.equal(state, 'error');
  assert.equal(view.status, 'Comments could not be loaded.');
  assert.equal(view.statusLive, 'polite');
  assert.equal(view.retry, 'Try again');
  assert.deepEqual(view.thread, []);
  assert.equal(apiRequests.length, 1);
  await screenshot(page, `error-light${suffix}.png`);

  await page.locator('backfeed-comments button.retry').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('backfeed-comments').state !== 'loading');
  assert.equal(await waitForState(page), 'error');
  assert.equal(apiRequests.length, 2, 'the retry fetched again');
  view = await snapshot(page);
  assert.equal(view.retry, 'Try again');
  const focus = await page.evaluate(() => document.querySelector('backfeed-comments').shadowRoot.activeElement?.className);
  assert.equal(focus, 'retry', 'focus stays on the retry button');
  await page.close();
});

test('"Try again" recovers once the server answers', {
  skip: !scenarios.thread && 'set BACKFEED_THREAD_URL (tests/browser/README.md)',
}, async () => {
  let calls = 0;
  const error = await fixture('error.json', bed.servers.site);
  const { page, state } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.thread), {
    before: (p) => p.route('**/api/comments?**', (route) => (calls++ === 0
      ? route.fulfill({ status: 500, contentType: 'application/json', headers: { 'access-control-allow-origin': '*' }, body: error })
      : route.continue())),
  });
  assert.equal(state, 'error');
  await page.locator('backfeed-comments button.retry').click();
  await page.locator('backfeed-comments .bf[data-state=loaded]').waitFor({ state: 'attached' });
  const view = await snapshot(page);
  assert.ok(view.thread.length > 0);
  assert.equal(view.retry, null, 'the retry button is gone');
  assert.equal(calls, 2);
  const focus = await page.evaluate(() => document.querySelector('backfeed-comments').shadowRoot.activeElement?.className);
  assert.equal(focus, 'status', 'focus moves to the status line, not to the page body');
  await page.close();
});

test('defaults: src is where the script came from, url is the page without query and fragment', async () => {
  const { page, apiRequests } = await openWidget(bed.browser.context, `${bed.servers.site}/posts/hello/?utm_source=feed&x=1#comments`);
  assert.equal(apiRequests.length, 1);
  const api = new URL(apiRequests[0]);
  assert.equal(`${api.origin}${api.pathname}`, `${bed.servers.backend}/api/comments`);
  assert.equal(api.searchParams.get('url'), `${bed.servers.site}/posts/hello/`);
  await page.close();
});

test('changing the url attribute loads the other post', {
  skip: !(scenarios.thread && scenarios.empty) && 'set BACKFEED_THREAD_URL and BACKFEED_EMPTY_URL',
}, async () => {
  const { page, apiRequests, state } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.empty));
  assert.equal(state, 'empty');
  await page.evaluate((url) => document.querySelector('backfeed-comments').setAttribute('url', url), scenarios.thread);
  await page.locator('backfeed-comments .bf[data-state=loaded]').waitFor({ state: 'attached' });
  assert.equal(new URL(apiRequests.at(-1)).searchParams.get('url'), scenarios.thread);
  await page.close();
});
