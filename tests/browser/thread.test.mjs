// The thread as the API answers it, rendered: nesting and order, counts with
// text labels, authors (lazy avatars with alt, custom emoji, handles), content
// warnings, media alt text, times, permalinks, source badges, webmention
// reactions, the hidden reply's absence; keyboard reach; copying the toot link;
// light and dark screenshots. Every expectation is computed from the JSON the
// backend answers, so the same tests run against a real backfeed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiJson, embedUrl, flatten, label, openWidget, real, scenarios, screenshot, snapshot, testBed,
} from './harness.mjs';

const bed = testBed();

const skip = !scenarios.thread && 'set BACKFEED_THREAD_URL to a post with a seeded thread (tests/browser/README.md)';
const isHttp = (u) => { try { return ['http:', 'https:'].includes(new URL(u).protocol); } catch { return false; } };
const href = (u) => (isHttp(u) ? new URL(u).href : null);
/** An image URL as the widget loads it: http(s), or backfeed's image proxy (`../img?…`) relative to the API URL. */
const imageHref = (u) => (typeof u === 'string' && u.startsWith('../img?') ? new URL(u, `${bed.servers.backend}/api/comments`).href : href(u));
const isImage = (u) => imageHref(u) !== null;
const known = (emojis) => new Set((emojis || []).filter((e) => isImage(e.url)).map((e) => e.shortcode));
/** The author's name as text once known :shortcodes: became images. */
const shownName = (a) => {
  const codes = known(a.emojis);
  const name = (a.name || '').trim() || a.handle || 'Anonymous';
  return name.replace(/:([\w-]+):/g, (m, code) => (codes.has(code) ? '' : m)).replace(/\s+/g, ' ').trim();
};
const ids = (tree) => tree.map((c) => ({ id: c.id, replies: ids(c.replies || []) }));
const depth = (tree) => (tree.length ? 1 + Math.max(...tree.map((c) => depth(c.replies || []))) : 0);

test('the thread renders what /api/comments answers', { skip }, async (t) => {
  const data = await apiJson(bed.servers.backend, scenarios.thread);
  const { page, dialogs, consoleErrors, state } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.thread));
  const view = await snapshot(page);
  const all = flatten(data.comments);
  const shown = flatten(view.thread);

  await t.test('the data under test covers every feature (seed it so against a real server)', () => {
    assert.ok(data.toot && isHttp(data.toot.url), 'the post has a toot with an http(s) url');
    assert.ok(depth(data.comments) >= 3, 'a reply to a reply to a comment (three levels)');
    assert.ok(all.some((c) => c.content_warning), 'a comment with a content warning');
    assert.ok(all.some((c) => c.media.some((m) => m.description)), 'media with a description');
    assert.ok(all.some((c) => known(c.author.emojis).size && /:[\w-]+:/.test(c.author.name)), 'a custom emoji in a display name');
    assert.ok(all.some((c) => c.source === 'webmention'), 'a webmention comment');
    assert.ok(all.some((c) => c.source === 'mastodon' && c.author.avatar), 'a Mastodon comment with an avatar');
    assert.ok(data.reactions.likes.count > 0 && data.reactions.reposts.count > 0, 'webmention likes and reposts');
    assert.ok(all.some((c) => c.edited_at), 'an edited comment');
    assert.ok(all.some((c) => c.source === 'activitypub'), 'a fediverse reply (ActivityPub)');
    assert.ok(data.fediverse && data.fediverse.handle, "the blog's own fediverse account");
  });

  await t.test("the blog's fediverse account is offered as another way to reply", async () => {
    const offer = await page.evaluate(() => {
      const root = document.querySelector('backfeed-comments').shadowRoot;
      const p = root.querySelector('.fediverse');
      return p && {
        text: p.textContent,
        handle: p.querySelector('.fediverse-handle')?.textContent,
        id: p.querySelector('.fediverse-id')?.textContent,
      };
    });
    assert.ok(offer, 'shown');
    assert.equal(offer.handle, data.fediverse.handle);
    assert.equal(offer.id ?? null, href(data.fediverse.object));
    assert.match(offer.text, /Reply from any fediverse account/);
  });

  await t.test('the widget settles in the loaded state without errors or dialogs', () => {
    assert.equal(state, 'loaded');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(consoleErrors, []);
    assert.equal(view.statusLive, 'polite');
  });

  await t.test('nesting and order follow the answer; siblings are oldest first', () => {
    assert.deepEqual(ids(view.thread), ids(data.comments));
    assert.deepEqual(view.strayText, [], 'no stray text between the list items');
    const sorted = (tree) => tree.every((c, i) => (i === 0 || Date.parse(tree[i - 1].created_at) <= Date.parse(c.created_at)) && sorted(c.replies));
    assert.ok(sorted(data.comments), 'the API answers siblings oldest first');
    assert.deepEqual(shown.map((c) => c.depth), (function depths(tree, d) { return tree.flatMap((c) => [d, ...depths(c.replies, d + 1)]); })(data.comments, 0));
  });

  await t.test('the hidden reply is absent', () => {
    for (const id of scenarios.hiddenIds) {
      assert.ok(!all.some((c) => c.id === id), `the API leaves out ${id}`);
      assert.ok(!shown.some((c) => c.id === id), `the widget does not show ${id}`);
    }
  });

  await t.test('counts carry text labels (singular and plural)', () => {
    const { toot } = data;
    assert.deepEqual(view.counts, [
      label(toot.replies_count, 'reply', 'replies'),
      label(toot.reblogs_count, 'boost', 'boosts'),
      label(toot.favourites_count, 'favourite', 'favourites'),
    ]);
    assert.equal(data.comment_count, all.length, 'comment_count counts every comment in the tree');
    assert.equal(view.status, label(data.comment_count, 'comment', 'comments'));
  });

  await t.test('authors: name (custom emoji as images), lazy avatar with alt, handle, profile link, badge', () => {
    shown.forEach((v, i) => {
      const c = all[i];
      const a = c.author;
      assert.equal(v.name, shownName(a), `name of ${c.id}`);
      const codes = known(a.emojis);
      assert.deepEqual(v.emojiAlts, [...a.name.matchAll(/:([\w-]+):/g)].filter((m) => codes.has(m[1])).map((m) => m[0]), `emoji of ${c.id}`);
      const inContent = [...(c.content_html || '').matchAll(/:([\w-]+):/g)].filter((m) => codes.has(m[1])).map((m) => m[0]);
      assert.deepEqual(v.contentEmojiAlts, inContent, `emoji in the content of ${c.id}`);
      if (isImage(a.avatar)) {
        assert.deepEqual(v.avatar, { alt: shownName(a), loading: 'lazy', src: imageHref(a.avatar) }, `avatar of ${c.id}`);
        assert.ok(v.avatar.alt, 'avatar alt names the author');
      } else {
        assert.equal(v.avatar, null, `no avatar image for ${c.id}`);
      }
      assert.equal(v.handle, a.handle ?? null);
      assert.equal(v.nameHref, href(a.url));
      assert.equal(v.badge, { mastodon: 'Mastodon', webmention: 'Webmention', activitypub: 'Fediverse' }[c.source]);
    });
  });

  await t.test('content warnings collapse the content in <details>', () => {
    shown.forEach((v, i) => {
      const cw = all[i].content_warning;
      if (cw) {
        assert.ok(v.cw, `details for ${all[i].id}`);
        assert.ok(v.cw.summary.includes(cw), 'summary shows the warning');
        assert.equal(v.cw.open, false, 'collapsed');
        assert.ok(v.cw.hasContent, 'the content is inside');
      } else {
        assert.equal(v.cw, null);
      }
    });
  });

  await t.test('times carry datetime; permalinks; edited marks', () => {
    shown.forEach((v, i) => {
      const c = all[i];
      assert.equal(v.created, c.created_at);
      assert.equal(v.permalink, href(c.url));
      assert.equal(v.edited, c.edited_at ?? null);
    });
  });

  await t.test('every image loads from backfeed\'s image proxy, none from a third party', { skip: !real && 'the fixture backend has no image proxy' }, async () => {
    const sources = await page.evaluate(() => [...document.querySelector('backfeed-comments').shadowRoot.querySelectorAll('img')].map((i) => i.src));
    assert.ok(sources.length > 0, 'the thread has images');
    for (const src of sources) assert.ok(src.startsWith(`${bed.servers.backend}/img?url=`), src);
  });

  await t.test('media show their description as alt text', () => {
    shown.forEach((v, i) => {
      const media = all[i].media.filter((m) => isHttp(m.url) || isImage(m.preview_url));
      assert.equal(v.media.length, media.length, `media of ${all[i].id}`);
      media.forEach((m, j) => {
        if (!m.description) return;
        if (isImage(m.preview_url)) assert.equal(v.media[j].img, m.description);
        else assert.ok(v.media[j].text.includes(m.description));
        if (isHttp(m.url)) assert.equal(v.media[j].href, href(m.url));
      });
    });
  });

  await t.test('webmention likes, reposts and bookmarks: counts and author faces', () => {
    for (const [kind, one, many] of [['likes', 'like', 'likes'], ['reposts', 'repost', 'reposts'], ['bookmarks', 'bookmark', 'bookmarks']]) {
      const r = data.reactions[kind];
      if (!r.count) { assert.equal(view.reactions[kind], undefined, `${kind} hidden at zero`); continue; }
      assert.equal(view.reactions[kind].count, label(r.count, one, many));
      assert.equal(view.reactions[kind].faces.length, r.authors.length);
      r.authors.forEach((a, j) => {
        const face = view.reactions[kind].faces[j];
        if (isImage(a.avatar)) assert.deepEqual([face.alt, face.loading], [shownName(a), 'lazy']);
        else assert.equal(face.text, shownName(a));
        assert.equal(face.href, href(a.url));
      });
    }
  });

  await t.test('"Reply on Mastodon" links to the toot, and a copy button is there', () => {
    assert.equal(view.reply, href(data.toot.url));
    assert.equal(view.copy, 'Copy link');
  });

  await t.test('light and dark screenshots; text is readable in both', async () => {
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      const contrast = await page.evaluate(() => {
        const host = document.querySelector('backfeed-comments');
        const root = host.shadowRoot;
        // What the reader sees: the backgrounds from the page down to the
        // widget (transparent by default), and a colour (with its alpha)
        // painted over them, composited by a canvas.
        const ctx = Object.assign(document.createElement('canvas'), { width: 1, height: 1 }).getContext('2d', { willReadFrequently: true });
        const layers = [];
        for (let el = host; el; el = el.parentElement) layers.unshift(getComputedStyle(el).backgroundColor);
        const paint = (...colours) => {
          for (const c of ['#fff', ...layers, ...colours]) { ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1); }
          return [...ctx.getImageData(0, 0, 1, 1).data].slice(0, 3);
        };
        const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
          .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
        const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
        const bg = paint();
        const pairs = { text: '.content', muted: '.meta', handle: '.handle', link: '.content a[href]', status: '.status', counts: '.counts' };
        return Object.fromEntries(Object.entries(pairs).filter(([, sel]) => root.querySelector(sel))
          .map(([what, sel]) => [what, ratio(paint(getComputedStyle(root.querySelector(sel)).color), bg)]));
      });
      assert.ok(Object.keys(contrast).length >= 4, 'found the elements to measure');
      for (const [what, ratio] of Object.entries(contrast)) assert.ok(ratio >= 4.5, `${scheme} ${what} contrast ${ratio.toFixed(2)} ≥ 4.5`);
      await screenshot(page, `thread-${scheme}${real ? '-real' : ''}.png`);
    }
  });
  await page.close();
});

test('keyboard: Tab reaches "Reply on Mastodon" and the copy button, with a visible focus ring', { skip }, async () => {
  const { page } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.thread));
  const focused = () => page.evaluate(() => {
    const host = document.activeElement;
    const el = host?.shadowRoot?.activeElement;
    if (!el) return { where: host?.localName || null };
    const s = getComputedStyle(el);
    return { where: el.className || el.localName, outline: s.outlineStyle, width: s.outlineWidth };
  });
  const seen = [];
  let found = null;
  for (let i = 0; i < 60 && !found; i++) {
    await page.keyboard.press('Tab');
    const f = await focused();
    seen.push(f.where);
    if (/\breply\b/.test(f.where)) found = f;
  }
  assert.ok(found, `Tab never reached the reply link; focus went through ${seen.join(', ')}`);
  assert.notEqual(found.outline, 'none', 'focus ring on the reply link');
  await page.keyboard.press('Tab');
  const next = await focused();
  assert.equal(next.where, 'copy', 'the copy button comes next');
  assert.notEqual(next.outline, 'none', 'focus ring on the copy button');
  // Enter on the focused button activates it: the link is copied, or the fallback field appears.
  await page.keyboard.press('Enter');
  await page.locator('backfeed-comments .note:not(:empty)').waitFor({ state: 'attached' });
  await page.close();
});

test('the copy button puts the toot link on the clipboard', { skip }, async () => {
  const data = await apiJson(bed.servers.backend, scenarios.thread);
  await bed.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: bed.servers.site });
  const { page } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.thread));
  await page.locator('backfeed-comments button.copy').click();
  await page.locator('backfeed-comments .note', { hasText: 'Link copied.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), href(data.toot.url));
  await bed.browser.context.clearPermissions();
  await page.close();
});

test('without a clipboard, the copy button reveals a selected text field with the link', { skip }, async () => {
  const data = await apiJson(bed.servers.backend, scenarios.thread);
  const { page } = await openWidget(bed.browser.context, embedUrl(bed.servers.site, scenarios.thread), {
    before: (p) => p.addInitScript(() => Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined })),
  });
  const field = page.locator('backfeed-comments input.copy-field');
  assert.equal(await field.isVisible(), false, 'hidden until needed');
  await page.locator('backfeed-comments button.copy').click();
  await field.waitFor({ state: 'visible' });
  assert.equal(await field.inputValue(), href(data.toot.url));
  const selected = await page.evaluate(() => {
    const el = document.querySelector('backfeed-comments').shadowRoot.activeElement;
    return el && el.className === 'copy-field' && el.selectionStart === 0 && el.selectionEnd === el.value.length;
  });
  assert.ok(selected, 'the field is focused with the whole link selected');
  await page.close();
});
