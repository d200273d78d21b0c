// Shared set-up of the browser tests: where the comments come from (the fixture
// server, or a real backfeed when BACKFEED_URL is set), the local site that
// embeds the widget, the Chromium launch, and helpers that read the widget's
// shadow DOM back as plain data so that assertions stay in node.
//
// Two origins, always: the "site" (127.0.0.1:<port A>) serves the blog pages
// that embed the widget; the backend (the fixture backfeed on 127.0.0.1:<port B>,
// or BACKFEED_URL) serves /widget.js and /api/comments. So the tests also
// prove the cross-origin set-up (CORS on the module script and on the API).

import { createServer } from 'node:http';
import { before, after } from 'node:test';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const widgetFile = join(repoRoot, 'web/backfeed-comments.js');
export const outputDir = join(repoRoot, 'test-output/browser');

const env = process.env;
const list = (v) => (v || '').split(',').map((s) => s.trim()).filter(Boolean);

/** True when the tests run against a real backfeed (BACKFEED_URL) instead of the fixture server. */
export const real = Boolean(env.BACKFEED_URL);

/**
 * The post URLs of each scenario. With the fixture server they name fixture
 * files; against a real backfeed the operator seeds the data and says where
 * (see README.md). `null` means "not available": the test is skipped.
 */
export const scenarios = real
  ? {
      thread: env.BACKFEED_THREAD_URL || null,
      hiddenIds: list(env.BACKFEED_HIDDEN_IDS),
      xss: env.BACKFEED_XSS_URL || null,
      empty: env.BACKFEED_EMPTY_URL || null,
      // Not an http(s) URL: backfeed answers 400 whatever its configuration.
      error: env.BACKFEED_ERROR_URL || 'ftp://unhandled.invalid/no-such-post/',
    }
  : {
      thread: 'https://blog.example/posts/hello/',
      // A direct-visibility reply the owner's token would see: the server must
      // leave it out, and the fixture (like the server's answer) lacks it.
      hiddenIds: ['mastodon:113456789012345799'],
      xss: 'https://blog.example/posts/xss/',
      empty: 'https://blog.example/posts/quiet/',
      error: 'https://blog.example/posts/broken/',
    };

const fixtureFiles = {
  'https://blog.example/posts/hello/': 'thread.json',
  'https://blog.example/posts/xss/': 'xss.json',
  'https://blog.example/posts/quiet/': 'empty.json',
};

/** A fixture's JSON text, with {{MEDIA}} pointing at the site's placeholder images. */
export async function fixture(name, mediaBase) {
  const raw = await readFile(join(here, 'fixtures', name), 'utf8');
  return raw.replaceAll('{{MEDIA}}', `${mediaBase}/media`);
}

const CORS = { 'access-control-allow-origin': '*' };

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** A small placeholder picture for avatars, emoji and media, so screenshots show something. */
function placeholderSvg(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const hue = hash % 360;
  if (name === 'blobcat') {
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="17" r="13" fill="#f4b400"/><circle cx="11" cy="15" r="2"/><circle cx="21" cy="15" r="2"/><path d="M11 21q5 4 10 0" stroke="#000" fill="none" stroke-width="2"/></svg>`;
  }
  if (['desk', 'clip'].includes(name)) {
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 200"><rect width="320" height="200" fill="hsl(${hue} 45% 55%)"/><rect x="70" y="50" width="180" height="110" rx="8" fill="#222"/><rect x="80" y="60" width="160" height="90" fill="hsl(${hue} 60% 85%)"/><circle cx="270" cy="150" r="18" fill="#fff"/></svg>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" fill="hsl(${hue} 55% 50%)"/><text x="24" y="32" font-family="sans-serif" font-size="22" font-weight="bold" fill="#fff" text-anchor="middle">${name[0].toUpperCase()}</text></svg>`;
}

function listen(handler) {
  return new Promise((ok) => {
    const server = createServer((req, res) => {
      Promise.resolve(handler(req, res)).catch((err) => send(res, 500, 'text/plain', String(err)));
    });
    server.listen(0, '127.0.0.1', () => ok(server));
  });
}
const origin = (server) => `http://127.0.0.1:${server.address().port}`;

/**
 * Starts the site (and, without BACKFEED_URL, the fixture backfeed).
 * Returns { site, backend, requests, close }: `requests` records every
 * /api/comments call the fixture backend saw.
 */
export async function startServers() {
  const requests = [];
  let siteBase = '';
  let fake = null;
  if (!real) {
    fake = await listen(async (req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/widget.js') {
        return send(res, 200, 'text/javascript; charset=utf-8', await readFile(widgetFile), CORS);
      }
      if (url.pathname === '/api/comments') {
        const post = url.searchParams.get('url');
        requests.push(post);
        if (post === 'https://blog.example/posts/broken/') {
          return send(res, 500, 'application/json', await fixture('error.json', siteBase), CORS);
        }
        if (!post) return send(res, 400, 'application/json', '{"code":400,"error":"No `url` query argument provided"}', CORS);
        const file = fixtureFiles[post];
        if (!file) return send(res, 400, 'application/json', '{"code":400,"error":"Provided `url` is not a handled"}', CORS);
        return send(res, 200, 'application/json', await fixture(file, siteBase), CORS);
      }
      return send(res, 404, 'text/plain', 'not found', CORS);
    });
  }
  const backend = real ? env.BACKFEED_URL.replace(/\/+$/, '') : origin(fake);
  const site = await listen(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const media = url.pathname.match(/^\/media\/([\w-]+)\.svg$/);
    if (media) return send(res, 200, 'image/svg+xml', placeholderSvg(media[1]), CORS);
    if (url.pathname === '/embed' || url.pathname.startsWith('/posts/')) {
      // /embed?post=<post url> embeds with explicit src and url attributes;
      // /posts/… embeds with neither (both defaults are under test).
      const post = url.searchParams.get('post');
      const attrs = url.pathname === '/embed' ? ` src="${escapeAttr(backend)}" url="${escapeAttr(post || '')}"` : '';
      return send(res, 200, 'text/html; charset=utf-8', page(`${backend}/widget.js`, attrs));
    }
    return send(res, 404, 'text/plain', 'not found');
  });
  siteBase = origin(site);
  return {
    site: siteBase,
    backend,
    requests,
    async close() {
      await Promise.all([site, fake].filter(Boolean).map((s) => new Promise((ok) => { s.closeAllConnections(); s.close(ok); })));
    },
  };
}

const escapeAttr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

const page = (widget, attrs) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>A blog post</title>
<style>
  body { font-family: "DejaVu Sans", system-ui, sans-serif; max-width: 44rem; margin: 0 auto; padding: 1.5rem; background: #fff; color: #1f2328; }
  @media (prefers-color-scheme: dark) { body { background: #16181d; color: #e6edf3; } a { color: #b4acff; } }
</style>
<script type="module" src="${escapeAttr(widget)}"></script>
</head>
<body>
<main>
<h1>Hello, backfeed</h1>
<p>A post with <a href="#top">a link</a> before the comments.</p>
<h2>Comments</h2>
<backfeed-comments${attrs}></backfeed-comments>
</main>
</body>
</html>
`;

/**
 * The servers and Chromium for one test file: started before its tests,
 * closed after them. The returned object's `servers` and `browser` are set
 * once the `before` hook has run.
 */
export function testBed() {
  const bed = {};
  before(async () => {
    bed.servers = await startServers();
    bed.browser = await launch();
  });
  after(async () => {
    await bed.browser?.close();
    await bed.servers?.close();
  });
  return bed;
}

export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Real headless Chromium with a fresh profile directory. Returns { context, close }. */
export async function launch() {
  const profile = await mkdtemp(join(tmpdir(), 'backfeed-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 760, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a page, records dialogs and /api/comments requests, and waits until the
 * widget leaves its loading state. Returns { page, dialogs, apiRequests, state }.
 */
export async function openWidget(context, url, { colorScheme = 'light', before } = {}) {
  const page = await context.newPage();
  const dialogs = [];
  const apiRequests = [];
  const consoleErrors = [];
  page.on('dialog', (d) => { dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('request', (r) => { if (r.url().includes('/api/comments')) apiRequests.push(r.url()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.emulateMedia({ colorScheme });
  if (before) await before(page);
  await page.goto(url);
  const state = await waitForState(page);
  return { page, dialogs, apiRequests, consoleErrors, state };
}

/** Waits until the widget has settled (loaded, empty or error) and returns that state. */
export async function waitForState(page) {
  const box = page.locator('backfeed-comments .bf:not([data-state=loading])');
  await box.waitFor({ state: 'attached', timeout: 15000 });
  return box.getAttribute('data-state');
}

export const embedUrl = (site, post) => `${site}/embed?post=${encodeURIComponent(post)}`;

/** The JSON the backend answers for a post (the same call the widget makes). */
export async function apiJson(backend, post) {
  const res = await fetch(`${backend}/api/comments?url=${encodeURIComponent(post)}`);
  if (!res.ok) throw new Error(`${backend}/api/comments for ${post}: HTTP ${res.status}`);
  return res.json();
}

/** "1 reply", "12 replies": the labels the widget must show. */
export const label = (n, one, many) => `${new Intl.NumberFormat('en-US').format(n)} ${n === 1 ? one : many}`;

/** The rendered thread read back from the shadow DOM, as plain data. */
export function snapshot(page) {
  return page.evaluate(() => {
    const root = document.querySelector('backfeed-comments').shadowRoot;
    const q = (el, sel) => el && el.querySelector(sel);
    const txt = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : null);
    const article = (a, depth) => {
      const details = q(a, ':scope > details.cw');
      return {
        id: a.dataset.id,
        depth,
        source: a.dataset.source,
        name: txt(q(a, '.name')),
        nameIsLink: q(a, '.name')?.localName === 'a',
        nameHref: q(a, 'a.name')?.getAttribute('href') ?? null,
        emojiAlts: [...a.querySelectorAll('.name img.emoji')].map((i) => i.getAttribute('alt')),
        contentEmojiAlts: [...a.querySelectorAll('.content img.emoji')].map((i) => i.getAttribute('alt')),
        avatar: q(a, 'img.avatar') && { alt: q(a, 'img.avatar').getAttribute('alt'), loading: q(a, 'img.avatar').getAttribute('loading'), src: q(a, 'img.avatar').getAttribute('src') },
        handle: txt(q(a, '.handle')),
        badge: txt(q(a, '.badge')),
        cw: details && { summary: txt(q(details, 'summary')), open: details.open, hasContent: !!q(details, '.content') },
        content: txt(q(a, '.content')),
        media: [...a.querySelectorAll('.media li')].map((li) => ({ img: q(li, 'img')?.getAttribute('alt') ?? null, href: q(li, 'a')?.getAttribute('href') ?? null, text: txt(li) })),
        created: q(a, '.permalink time')?.getAttribute('datetime') ?? null,
        permalink: q(a, 'a.permalink')?.getAttribute('href') ?? null,
        edited: q(a, '.edited time')?.getAttribute('datetime') ?? null,
      };
    };
    const walk = (ol, depth) => [...(ol ? ol.children : [])].map((li) => ({
      ...article(li.querySelector(':scope > article'), depth),
      replies: walk(li.querySelector(':scope > ol.replies'), depth + 1),
    }));
    const reactions = {};
    for (const r of root.querySelectorAll('.reaction')) {
      reactions[r.dataset.kind] = {
        count: txt(q(r, '.reaction-count')),
        faces: [...r.querySelectorAll('.faces li')].map((li) => ({ alt: q(li, 'img')?.getAttribute('alt') ?? null, loading: q(li, 'img')?.getAttribute('loading') ?? null, text: txt(li), href: q(li, 'a')?.getAttribute('href') ?? null })),
      };
    }
    return {
      // Text that is not inside an element of the thread's lists (e.g. a stray "0").
      strayText: [...root.querySelectorAll('ol, li, .bf, .bf > div, .toot, .reactions')].flatMap((el) => [...el.childNodes])
        .filter((n) => n.nodeType === Node.TEXT_NODE && n.data.trim()).map((n) => n.data),
      state: root.querySelector('.bf').dataset.state,
      status: txt(root.querySelector('.status')),
      statusLive: root.querySelector('.status').getAttribute('aria-live'),
      retry: (() => { const b = root.querySelector('button.retry'); return b && !b.hidden ? txt(b) : null; })(),
      counts: [...root.querySelectorAll('.counts [data-count]')].map((s) => txt(s)),
      reply: root.querySelector('a.reply')?.getAttribute('href') ?? null,
      copy: txt(root.querySelector('button.copy')),
      thread: walk(root.querySelector('ol.thread'), 0),
      reactions,
    };
  });
}

/** Every comment of a tree, depth first, in order. */
export function flatten(comments) {
  return comments.flatMap((c) => [c, ...flatten(c.replies || [])]);
}

export async function screenshot(page, name) {
  await mkdir(outputDir, { recursive: true });
  // Let the images finish (lazy ones load eagerly for a full-page picture).
  await page.evaluate(() => Promise.all([...document.querySelector('backfeed-comments').shadowRoot.querySelectorAll('img')]
    .map((img) => { img.loading = 'eager'; return img.decode().catch(() => {}); })));
  const file = join(outputDir, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
