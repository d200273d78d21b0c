// <backfeed-comments>: a post's replies and webmentions from backfeed's GET
// /api/comments (docs/comments-api.md). Strings go in as text, URLs only if
// http(s); content_html is parsed inert in a <template> and allowlisted.
// Images may also come as `../img?…`, backfeed's image proxy relative to the
// API URL, so readers' browsers never load them from a stranger's server.
// Colours follow the host page (its text colour, its background showing
// through), whatever the reader's system prefers, unless the site sets the
// --backfeed-* custom properties. Without an accent, links and buttons take
// the text colour; with one, the reply button is filled with it and its
// text is black or white, whichever contrasts (--k).

const BASE = (() => { try { return new URL('.', import.meta.url).href; } catch { return ''; } })();
const DROP = new Set('script style template iframe object embed noscript svg math textarea select'.split(' '));
const KEEP = new Set('a p br span em strong b i u s del ins code pre blockquote ul ol li dl dt dd h1 h2 h3 h4 h5 h6 sub sup small img abbr q cite hr time mark'.split(' '));
const ATTRS = { a: ['href'], img: ['src', 'alt'] };
const CLASSES = new Set(['invisible', 'ellipsis']);
const MEDIA = { image: 'Image', video: 'Video', gifv: 'GIF', audio: 'Audio' };
const SOURCES = { mastodon: 'Mastodon', webmention: 'Webmention', activitypub: 'Fediverse' };
const SHORTCODE = /:([\w-]+):/g;
const MAX_DEPTH = 16;

export function httpUrl(value) {
  try {
    const u = new URL(value);
    return /^https?:$/.test(u.protocol) ? u.href : null;
  } catch { return null; }
}

// An image: an http(s) URL, or the image proxy's reference resolved against
// the API URL it came from (`base`).
export function imageUrl(value, base) {
  if (typeof value === 'string' && value.startsWith('../img?') && base) {
    try { return httpUrl(new URL(value, base).href); } catch { return null; }
  }
  return httpUrl(value);
}

// h('tag.class', {attrs}?, ...kids): setAttribute (skips null/false); strings become text.
function h(spec, ...children) {
  const [tag, ...cls] = spec.split('.');
  const el = document.createElement(tag);
  const attrs = children[0]?.constructor === Object ? children.shift() : {};
  if (cls.length) el.className = cls.join(' ');
  for (const [k, v] of Object.entries(attrs)) if (v != null && v !== false) el.setAttribute(k, v === true ? '' : v);
  el.append(...children.flat(9).filter(Boolean));
  return el;
}

const link = (url, attrs, ...kids) => (url ? h('a', { ...attrs, href: url }, ...kids) : h('span', attrs, ...kids));
const num = (n) => (n > 0 ? Math.floor(n) : 0);
const count = (n, one, many) => `${num(n).toLocaleString()} ${num(n) === 1 ? one : many}`;
const own = (o, k) => (Object.hasOwn(o, k) ? o[k] : null);
const str = (s) => (typeof s === 'string' ? s : '');
const arr = (a) => (Array.isArray(a) ? a.filter((x) => x && typeof x === 'object') : []);
const emojiMap = (list, base) => new Map(arr(list).filter((e) => imageUrl(e.url, base)).map((e) => [e.shortcode, imageUrl(e.url, base)]));

function withEmoji(text, map) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(SHORTCODE)) {
    if (!map.has(m[1])) continue;
    out.push(text.slice(last, m.index), h('img.emoji', { src: map.get(m[1]), alt: m[0] }));
    last = m.index + m[0].length;
  }
  return [...out, text.slice(last)];
}

function safeContent(html, map, base) {
  const t = document.createElement('template');
  t.innerHTML = html;
  for (const el of t.content.querySelectorAll('*')) {
    const name = el.localName;
    if (!(el instanceof HTMLElement) || DROP.has(name)) { el.remove(); continue; }
    if (!KEEP.has(name)) { el.replaceWith(...el.childNodes); continue; }
    const allowed = ['lang', 'dir', 'title', 'class', ...(ATTRS[name] || [])];
    for (const { name: attr } of [...el.attributes]) if (!allowed.includes(attr)) el.removeAttribute(attr);
    for (const attr of ['href', 'src']) {
      const value = el.getAttribute(attr);
      const url = el.hasAttribute(attr) && (attr === 'src' ? imageUrl(value, base) : httpUrl(value));
      if (url) el.setAttribute(attr, url); else el.removeAttribute(attr);
    }
    const cls = str(el.getAttribute('class')).split(/\s+/).filter((c) => CLASSES.has(c)).join(' ');
    if (cls) el.setAttribute('class', cls); else el.removeAttribute('class');
    if (name === 'a') el.setAttribute('rel', 'ugc nofollow noopener');
    if (name === 'img') { if (el.hasAttribute('src')) el.setAttribute('loading', 'lazy'); else el.remove(); }
  }
  const frag = document.importNode(t.content, true);
  const walker = document.createTreeWalker(frag, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (map.size && walker.nextNode()) texts.push(walker.currentNode);
  for (const n of texts) n.replaceWith(...withEmoji(n.data, map));
  return frag;
}

function time(iso, fmt) {
  const d = new Date(str(iso));
  return isNaN(d) ? str(iso) : h('time', { datetime: iso }, fmt.format(d));
}

function names(a) {
  const name = str(a.name).trim() || str(a.handle) || 'Anonymous';
  return [name, name.replace(SHORTCODE, '').replace(/\s+/g, ' ').trim() || name];
}

const avatar = (a, cls, alt, base) => (imageUrl(a.avatar, base)
  ? h('img', { class: cls, src: imageUrl(a.avatar, base), alt, loading: 'lazy' })
  : h('span', { class: `${cls} blank`, 'aria-hidden': 'true' }, [...alt][0]));

// The preview is the image shown (backfeed fills it in for images); `url`
// is only a link, loaded when the reader follows it.
function renderMedia(list, base) {
  const items = arr(list).map((m) => {
    const url = httpUrl(m.url);
    const preview = imageUrl(m.preview_url, base);
    const kind = own(MEDIA, m.type) || 'Attachment';
    const desc = str(m.description).trim();
    if (preview) {
      return h('li', link(url, {},
        h('img', { src: preview, alt: desc || `${kind} without description`, loading: 'lazy' }),
        m.type !== 'image' && h('span.media-kind', kind)));
    }
    return url && h('li', h('a', { href: url }, desc ? `${kind}: ${desc}` : kind));
  }).filter(Boolean);
  return items.length ? h('ul.media', items) : null;
}

function renderComment(c, { fmt, base }) {
  const [a = {}] = arr([c.author]);
  const [name, plain] = names(a);
  const map = emojiMap(a.emojis, base);
  const badge = own(SOURCES, c.source);
  const content = h('div.content');
  content.append(str(c.content_html) ? safeContent(c.content_html, map, base) : h('p', str(c.content_text)));
  const body = [content, renderMedia(c.media, base)];
  const cw = str(c.content_warning);
  return h('article.comment', { 'data-id': str(c.id), 'data-source': badge ? c.source : 'other' },
      h('header.head',
        avatar(a, 'avatar', plain, base),
        h('span.who',
          link(httpUrl(a.url), { class: 'name', rel: 'ugc nofollow' }, withEmoji(name, map)),
          a.handle && h('span.handle', str(a.handle))),
        badge && h('span.badge', badge)),
      cw ? h('details.cw', h('summary', h('span.cw-label', 'Content warning: '), cw), body) : body,
      h('footer.meta',
        link(httpUrl(c.url), { class: 'permalink' }, time(c.created_at, fmt) || 'Link'),
        c.edited_at && h('span.edited', 'edited ', time(c.edited_at, fmt))));
}

// Replies nest at most MAX_DEPTH levels (a top-level comment is level 1), as
// backfeed sends them (docs/comments-api.md); a deeper reply from any other
// answer is listed at that level, right after the one it follows in reading
// order. An explicit stack instead of recursion: no thread is too deep.
function renderThread(comments, ctx) {
  const thread = h('ol.thread');
  const stack = [{ list: thread, items: comments, next: 0, level: 1 }];
  while (stack.length) {
    const frame = stack[stack.length - 1];
    if (frame.next >= frame.items.length) { stack.pop(); continue; }
    const c = frame.items[frame.next++];
    const item = h('li', renderComment(c, ctx));
    frame.list.append(item);
    const replies = arr(c.replies);
    if (!replies.length) continue;
    if (frame.level < MAX_DEPTH) {
      const list = h('ol.replies');
      item.append(list);
      stack.push({ list, items: replies, next: 0, level: frame.level + 1 });
    } else {
      stack.push({ list: frame.list, items: replies, next: 0, level: frame.level });
    }
  }
  return thread;
}

function renderReactions(r, base) {
  const groups = [['likes', 'like'], ['reposts', 'repost'], ['bookmarks', 'bookmark']].map(([key, one]) => {
    const g = r && r[key];
    return g && num(g.count) > 0 && h('div.reaction', { 'data-kind': key },
      h('span.reaction-count', count(g.count, one, key)),
      h('ul.faces', arr(g.authors).map((a) => {
        const [name, plain] = names(a);
        return h('li', link(httpUrl(a.url), { title: plain, rel: 'ugc nofollow' },
          imageUrl(a.avatar, base) ? avatar(a, 'face', plain, base) : h('span.face-name', withEmoji(name, emojiMap(a.emojis, base)))));
      })));
  }).filter(Boolean);
  return groups.length ? h('section.reactions', { 'aria-label': 'Reactions' }, groups) : null;
}

const CSS = `
:host{display:block;color:var(--backfeed-text);background:var(--backfeed-background);--t:var(--backfeed-text,currentColor);--m:var(--backfeed-muted,color-mix(in srgb,currentColor 70%,transparent));--s:var(--backfeed-surface,color-mix(in srgb,currentColor 6%,transparent));--a:var(--backfeed-accent,currentColor);--b:var(--backfeed-border,color-mix(in srgb,currentColor 25%,transparent));--k:clamp(0,(.5 - (r * .299 + g * .587 + b * .114) / 255) * 1e6,255);--r:var(--backfeed-radius,8px);--av:var(--backfeed-avatar-size,40px);--in:calc(var(--av) + .5rem);font-family:var(--backfeed-font,inherit);line-height:1.5;overflow-wrap:anywhere}
[hidden]{display:none!important}
.bf{padding:1rem 0}
a{color:var(--a)}a:not([href]){color:inherit}
:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.bar,.actions,.reactions,.reaction,.faces,.head{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}
.status{margin:0;font-weight:600}
[data-state=loading] .status,[data-state=empty] .status{color:var(--m);font-weight:400}
button,.button{font:inherit;font-size:.9rem;padding:.35rem .8rem;border:1px solid var(--a);border-radius:var(--r);background:none;color:var(--a);cursor:pointer;text-decoration:none}
.reply{font-weight:600;background:var(--backfeed-accent);color:var(--backfeed-on-accent,rgb(from var(--backfeed-accent) var(--k) var(--k) var(--k)))}
.counts,.hint,.note,.meta,.handle,.reaction-count,.face-name{color:var(--m);font-size:.875rem}
.counts{margin:.75rem 0 .5rem}
.counts span+span::before,.edited::before{content:" · "}
.copy-field{font:inherit;flex:1 1 16rem;padding:.3rem;border:1px solid var(--b);background:var(--s);color:var(--t)}
.hint{margin:.5rem 0 0}
.reactions{gap:.5rem 1.5rem;margin:1rem 0}
.faces{gap:.25rem}
ol,ul{list-style:none;margin:0;padding:0}
.face{width:28px;height:28px;border-radius:50%;object-fit:cover;display:block}
.thread>li{border-top:1px solid var(--b);padding:.25rem 0}
.replies{margin-left:calc(var(--av)/2 - 1px);padding-left:calc(var(--av)/2);border-left:2px solid var(--b)}
.replies .replies .replies{margin-left:0;padding-left:.75rem}
.comment{padding:.75rem 0}
.head{flex-wrap:nowrap}
.avatar{width:var(--av);height:var(--av);flex:none;border-radius:var(--r);object-fit:cover;background:var(--s)}
.blank{display:grid;place-items:center;color:var(--m);font-weight:600}
.who{display:flex;flex-direction:column;flex:1;line-height:1.3}
.name{font-weight:600;color:var(--t);text-decoration:none}
.emoji{height:1.2em;vertical-align:-.2em}
.badge{font-size:.75rem;padding:0 .5rem;border:1px solid var(--b);border-radius:1em;color:var(--m)}
.content,.cw,.media,.meta{margin:.4rem 0 0 var(--in)}
.content p{margin:.4rem 0}
.content img{max-width:100%}
.invisible{display:none}.ellipsis::after{content:"…"}
.content pre{overflow:auto}
.content blockquote{margin:0;padding-left:.75rem;border-left:3px solid var(--b)}
.cw{border:1px solid var(--b);border-radius:var(--r);padding:.4rem .75rem;background:var(--s)}
summary{cursor:pointer;font-weight:600}
.cw-label{font-weight:400;color:var(--m)}
.cw .content,.cw .media{margin-left:0}
.media{display:flex;flex-wrap:wrap;gap:.5rem}
.media a{position:relative;display:block}
.media img{display:block;width:14rem;max-width:100%;height:9rem;object-fit:cover;border-radius:var(--r);border:1px solid var(--b)}
.media-kind{position:absolute;left:4px;bottom:4px;font-size:.75rem;padding:0 4px;background:#000b;color:#fff}
.permalink{color:inherit}
`;

class BackfeedComments extends HTMLElement {
  static observedAttributes = ['src', 'url'];

  connectedCallback() {
    if (!this.shadowRoot) {
      this.$status = h('p.status', { role: 'status', 'aria-live': 'polite', tabindex: '-1' });
      this.$retry = h('button.retry', { type: 'button', hidden: true }, 'Try again');
      this.$retry.onclick = () => { this.refocus = true; this.refresh(); };
      this.$body = h('div');
      this.$box = h('div.bf', { part: 'base' }, h('div.bar', this.$status, this.$retry), this.$body);
      this.attachShadow({ mode: 'open' }).append(h('style', CSS), this.$box);
    }
    this.refresh();
  }

  disconnectedCallback() { this.ctrl?.abort(); this.ctrl = null; }

  attributeChangedCallback(_name, old, value) { if (old !== value && this.isConnected) this.refresh(); }

  // `url`: the post, by default this page without query, fragment and userinfo.
  // `src`: backfeed's base URL, by default where this script came from.
  get apiUrl() {
    const attr = this.getAttribute('url');
    const post = new URL(attr || location.href, location.href);
    if (!attr) post.search = post.hash = post.username = post.password = '';
    const base = (this.getAttribute('src') || BASE).replace(/\/*$/, '/');
    const api = new URL('api/comments', new URL(base, location.href));
    api.searchParams.set('url', post.href);
    return api.href;
  }

  async refresh() {
    if (!this.shadowRoot) return;
    this.ctrl?.abort();
    const ctrl = this.ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 20000);
    this.show('loading', 'Loading comments…');
    this.$body.replaceChildren();
    try {
      const api = this.apiUrl;
      const res = await fetch(api, { signal: ctrl.signal, credentials: 'omit' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      if (ctrl === this.ctrl) this.render(arr([data])[0] || {}, api);
    } catch (err) {
      if (ctrl !== this.ctrl) return;
      console.warn('backfeed-comments:', err);
      this.show('error', 'Comments could not be loaded.');
    } finally {
      clearTimeout(timer);
    }
  }

  show(state, message) {
    this.state = state;
    this.$box.dataset.state = state;
    this.$box.setAttribute('aria-busy', state === 'loading');
    this.$status.textContent = message;
    this.$retry.hidden = state !== 'error';
    if (this.refocus && state !== 'loading') { this.refocus = false; (state === 'error' ? this.$retry : this.$status).focus(); }
    this.dispatchEvent(new CustomEvent('backfeed-state', { detail: { state } }));
  }

  // `api`: the URL the answer came from, which image references are relative to.
  render(data, api) {
    const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    const ctx = { fmt, base: api };
    const comments = arr(data.comments);
    const [toot] = arr([data.toot]);
    const url = toot && httpUrl(toot.url);
    this.$body.replaceChildren(...[
      toot && h('div.toot',
        h('p.counts', [['replies', 'reply', 'replies'], ['reblogs', 'boost', 'boosts'], ['favourites', 'favourite', 'favourites']]
          .map(([key, one, many]) => h('span', { 'data-count': many }, count(toot[`${key}_count`], one, many)))),
        url && this.actions(url)),
      renderReactions(data.reactions, api),
      comments.length && renderThread(comments, ctx),
      this.fediverse(data.fediverse),
    ].filter(Boolean));
    if (comments.length) this.show('loaded', count(num(data.comment_count) || comments.length, 'comment', 'comments'));
    else this.show('empty', url ? 'No comments yet. Be the first to reply on Mastodon.' : 'No comments yet.');
  }

  // The blog's own fediverse account: reply from any server by opening the
  // post's id there (or follow the handle).
  fediverse(fed) {
    const [f] = arr([fed]);
    const handle = f && str(f.handle);
    if (!handle) return null;
    const id = httpUrl(f.object);
    return h('p.fediverse',
      'Reply from any fediverse account: ',
      id ? ['search your server for ', h('code.fediverse-id', id), ', or follow '] : 'follow ',
      h('code.fediverse-handle', handle), '.');
  }

  actions(url) {
    const button = h('button.copy', { type: 'button' }, 'Copy link');
    const field = h('input.copy-field', { type: 'url', readonly: true, value: url, hidden: true, 'aria-label': 'Link to the Mastodon post' });
    const note = h('span.note', { role: 'status', 'aria-live': 'polite' });
    button.onclick = async () => {
      try {
        await navigator.clipboard.writeText(url);
        note.textContent = 'Link copied.';
      } catch {
        field.hidden = false;
        field.focus();
        field.select();
        note.textContent = 'Copy the selected link (Ctrl+C or ⌘C).';
      }
    };
    return [
      h('div.actions', h('a.button.reply', { href: url }, 'Reply on Mastodon'), button, field, note),
      h('p.hint', 'On another server? Paste the link into its search to reply.'),
    ];
  }
}

if (!customElements.get('backfeed-comments')) customElements.define('backfeed-comments', BackfeedComments);
