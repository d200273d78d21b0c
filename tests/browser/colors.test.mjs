// The widget takes the host page's colours: its text colour and background
// (inherited, transparent) and its color-scheme (links and the reply
// button use system colours), not the reader's system preference; the
// --backfeed-* custom properties still win. Each page is served on the
// site's origin, with the thread fixture as the answer (request
// interception), so these run against a real backfeed too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, screenshot, testBed, waitForState } from './harness.mjs';

const bed = testBed();

const page = (style, meta = '') => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${meta}<title>Colours</title>
<style>${style}</style>
<script type="module" src="${bed.servers.backend}/widget.js"></script></head>
<body><h1>A post</h1><p>Text of the page.</p>
<backfeed-comments src="${bed.servers.backend}" url="https://blog.example/posts/hello/"></backfeed-comments>
</body></html>`;

async function open(html, colorScheme) {
  const tab = await bed.browser.context.newPage();
  await tab.emulateMedia({ colorScheme });
  const body = await fixture('thread.json', bed.servers.site);
  await tab.route('**/api/comments?**', (route) => route.fulfill({
    status: 200, contentType: 'application/json', headers: { 'access-control-allow-origin': '*' }, body,
  }));
  // A page of the site's own origin (a fulfilled navigation would count as
  // a public address, and Chromium would then refuse the loopback backend),
  // its document replaced by the page under test.
  await tab.goto(`${bed.servers.site}/posts/colours/`);
  await tab.setContent(html);
  assert.equal(await waitForState(tab), 'loaded');
  return tab;
}

/** Colours as the reader sees them (composited over the page) and contrast ratios. */
function measure(tab) {
  return tab.evaluate(() => {
    const host = document.querySelector('backfeed-comments');
    const root = host.shadowRoot;
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
    const colour = (sel) => getComputedStyle(root.querySelector(sel)).color;
    const bg = paint();
    const reply = root.querySelector('a.reply');
    return {
      hostBackground: getComputedStyle(host).backgroundColor,
      pageText: getComputedStyle(document.body).color,
      text: colour('.content'),
      background: bg,
      contrast: Object.fromEntries(['.content', '.meta', '.handle', '.content a[href]', '.status', '.counts']
        .filter((sel) => root.querySelector(sel)).map((sel) => [sel, ratio(paint(colour(sel)), bg)])),
      reply: ratio(paint(getComputedStyle(reply).backgroundColor), paint(getComputedStyle(reply).backgroundColor, getComputedStyle(reply).color)),
    };
  });
}

test('on a light page, a reader whose system is dark still sees the page\'s light colours', async () => {
  const tab = await open(page('body { font-family: "DejaVu Sans", sans-serif; background: #fff; color: #222; }'), 'dark');
  const m = await measure(tab);
  assert.equal(m.hostBackground, 'rgba(0, 0, 0, 0)', 'no box of its own');
  assert.deepEqual(m.background, [255, 255, 255], 'the page\'s background shows');
  assert.equal(m.text, m.pageText, 'the page\'s text colour');
  for (const [what, ratio] of Object.entries(m.contrast)) assert.ok(ratio >= 4.5, `${what} contrast ${ratio.toFixed(2)}`);
  assert.ok(m.reply >= 4.5, `reply button contrast ${m.reply.toFixed(2)}`);
  await screenshot(tab, 'colours-light-page-dark-system.png');
  await tab.close();
});

test('on a dark page, the widget follows its colours and colour scheme', async () => {
  const tab = await open(
    page('body { font-family: "DejaVu Sans", sans-serif; background: #101418; color: #e8e8e8; }', '<meta name="color-scheme" content="dark">'),
    'light',
  );
  const m = await measure(tab);
  assert.equal(m.hostBackground, 'rgba(0, 0, 0, 0)');
  assert.deepEqual(m.background, [16, 20, 24]);
  assert.equal(m.text, 'rgb(232, 232, 232)');
  for (const [what, ratio] of Object.entries(m.contrast)) assert.ok(ratio >= 4.5, `${what} contrast ${ratio.toFixed(2)}`);
  assert.ok(m.reply >= 4.5, `reply button contrast ${m.reply.toFixed(2)}`);
  await screenshot(tab, 'colours-dark-page.png');
  await tab.close();
});

test('the site\'s custom properties win over the page\'s colours', async () => {
  const tab = await open(page('body { background: #fff; color: #222; } backfeed-comments { --backfeed-background: #fffbe6; --backfeed-text: #3a2a00; --backfeed-accent: #b03060; }'), 'dark');
  const m = await measure(tab);
  assert.equal(m.hostBackground, 'rgb(255, 251, 230)');
  assert.equal(m.text, 'rgb(58, 42, 0)');
  const link = await tab.evaluate(() => getComputedStyle(document.querySelector('backfeed-comments').shadowRoot.querySelector('.content a[href]')).color);
  assert.equal(link, 'rgb(176, 48, 96)');
  assert.ok(m.reply >= 4.5, `the reply button is filled with the accent, its text contrasting (${m.reply.toFixed(2)})`);
  await tab.close();
});
