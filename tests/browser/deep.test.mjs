// A hostile thread: 4,096 comments, each a reply to the one before, nested as
// deep as that (what a server without backfeed's cap would send). The widget
// must settle without freezing or overflowing its stack, show every comment
// in reading order, and nest at most 16 levels, listing deeper replies at
// level 16 (docs/comments-api.md). The answer is handed to the browser
// through request interception, so this runs against a real backfeed too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { embedUrl, openWidget, scenarios, testBed } from './harness.mjs';

const bed = testBed();

const CHAIN = 4096;
const MAX_DEPTH = 16;

/**
 * The chain as nested JSON text. Written piece by piece: JSON.stringify
 * recurses and overflows on this very input.
 */
function chainJson(ids) {
  const comment = (id, i) => JSON.stringify({
    id,
    source: 'mastodon',
    author: { name: `u${i % 2}`, handle: `@u${i % 2}@chain.example`, avatar: null, url: null, emojis: [] },
    content_html: `<p>${i}</p>`,
    content_text: String(i),
    content_warning: null,
    created_at: new Date(Date.UTC(2026, 10, 22) + i * 1000).toISOString(),
    edited_at: null,
    url: null,
    media: [],
  });
  // Each comment's object, left open for its "replies".
  const opened = ids.map((id, i) => `[${comment(id, i).slice(0, -1)},"replies":`);
  const comments = `${opened.join('')}[]${'}]'.repeat(ids.length)}`;
  const empty = { count: 0, authors: [] };
  const rest = JSON.stringify({
    toot: null, reactions: { likes: empty, reposts: empty, bookmarks: empty }, comment_count: ids.length, fetched_at: null,
  });
  return `{"url":"https://blog.example/posts/deep/","comments":${comments},${rest.slice(1)}`;
}

test('a 4,096-deep chain renders every comment, in order, nested at most 16 levels', async () => {
  const ids = Array.from({ length: CHAIN }, (_, i) => `mastodon:${1000 + i}`);
  const body = chainJson(ids);
  const post = scenarios.thread || 'https://blog.example/posts/hello/';
  const { page, dialogs, consoleErrors, state } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, post), {
    before: (p) => p.route('**/api/comments?**', (route) => route.fulfill({
      status: 200, contentType: 'application/json', headers: { 'access-control-allow-origin': '*' }, body,
    })),
  });
  assert.equal(state, 'loaded');
  assert.deepEqual(dialogs, []);
  assert.deepEqual(consoleErrors, []);
  const view = await page.evaluate(() => {
    const root = document.querySelector('backfeed-comments').shadowRoot;
    const articles = [...root.querySelectorAll('article.comment')];
    const level = (a) => {
      let n = 0;
      for (let el = a; el; el = el.parentElement) if (el.matches('ol.thread, ol.replies')) n++;
      return n;
    };
    return {
      ids: articles.map((a) => a.dataset.id),
      levels: articles.map(level),
      status: root.querySelector('.status').textContent,
    };
  });
  assert.equal(view.ids.length, CHAIN, 'every comment is shown');
  assert.deepEqual(view.ids, ids, 'in reading order');
  const expected = ids.map((_, i) => Math.min(i + 1, MAX_DEPTH));
  assert.deepEqual(view.levels, expected, 'the first 16 nested, the rest at level 16');
  assert.equal(view.status, '4,096 comments');
  await page.close();
});
