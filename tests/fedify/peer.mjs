// A real, independent ActivityPub server for backfeed's tests: a Fedify
// federation with one actor, alice, on 127.0.0.1. Driven over stdin/stdout
// by tests/it/fedify.rs, one step at a time, so that the Rust side runs
// backfeed's job queue between steps and nothing waits on a timer.
//
//   argv[2]: the blog actor's URL.
//   stdout:  "ready", then one "check <name> ok|fail <detail>" per check,
//            "await <step>" when it wants the Rust side to run its jobs and
//            answer with a line on stdin, and finally "N passed, M failed".
//
// Runs on Fedify 1.5.x (draft-cavage signatures only) and 2.x (RFC 9421
// first, falling back to draft-cavage after our 401); 2.x keeps the
// vocabulary in @fedify/vocab.
import http from "node:http";
import readline from "node:readline";
const fedify = await import("@fedify/fedify");
const vocab = fedify.Note ? fedify : await import("@fedify/vocab");
const { MemoryKvStore, createFederation, generateCryptoKeyPair, signRequest } = fedify;
const {
  Accept, Article, Create, Delete, Endpoints, Follow, Like, Note, Person, PUBLIC_COLLECTION, Undo,
  Update,
} = vocab;

const blogActorUrl = process.argv[2];
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
let passed = 0, failed = 0;
const check = (name, ok, detail = "") => {
  ok ? passed++ : failed++;
  console.log(`check ${name} ${ok ? "ok" : "fail"} ${detail}`);
};
const awaitStep = async (step) => {
  console.log(`await ${step}`);
  await lines.next();
};

const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const received = [];
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "alice") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Alice",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async () => [keyPair]);
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, async (_ctx, activity) => { received.push(activity); })
  .on(Create, async (_ctx, activity) => { received.push(activity); })
  .on(Update, async (_ctx, activity) => { received.push(activity); })
  .on(Delete, async (_ctx, activity) => { received.push(activity); })
  .onError((_ctx, error) => { console.log(`inbox-error ${error}`); });

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const url = new URL(req.url, `http://${req.headers.host}`);
  const request = new Request(url, {
    method: req.method,
    headers: Object.entries(req.headers).flatMap(([k, v]) =>
      Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]),
    body: ["GET", "HEAD"].includes(req.method) ? undefined : Buffer.concat(chunks),
  });
  const response = await federation.fetch(request, { contextData: undefined });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const ctx = federation.createContext(new URL(base), undefined);
console.log(`ready ${base}`);

try {
  const blog = await ctx.lookupObject(blogActorUrl);
  check("lookup-actor", blog instanceof Person, blog?.constructor?.name);
  check("actor-has-key", (await blog?.getPublicKey())?.id != null);

  const follow = new Follow({
    id: new URL(`${base}/follows/1`),
    actor: ctx.getActorUri("alice"),
    object: blog.id,
  });
  await ctx.sendActivity({ identifier: "alice" }, blog, follow);
  check("follow-sent", true);
  await awaitStep("deliver-accept");
  const accept = received.find((a) => a instanceof Accept);
  check("accept-verified", accept != null, `${received.length} received`);
  check("accept-names-follow", accept?.objectId?.href === follow.id.href, accept?.objectId?.href);

  await awaitStep("publish-create");
  const create = received.find((a) => a instanceof Create);
  const article = await create?.getObject();
  check("create-verified", create != null, `${received.length} received`);
  check("create-article", article instanceof Article && article.name?.toString() === "Hello fediverse",
    `${article?.constructor?.name} ${article?.name}`);
  check("same-origin-object", article?.id?.origin === new URL(blogActorUrl).origin, article?.id?.href);

  // A reply to the post and a like of it, as any server sends them.
  const alice = ctx.getActorUri("alice");
  const note = new Note({
    id: new URL(`${base}/notes/1`), attribution: alice, replyTarget: article.id,
    content: "<p>Hello from Fedify!</p>", to: PUBLIC_COLLECTION,
  });
  await ctx.sendActivity({ identifier: "alice" }, blog, new Create({
    id: new URL(`${base}/creates/1`), actor: alice, object: note, to: PUBLIC_COLLECTION,
  }));
  const like = new Like({ id: new URL(`${base}/likes/1`), actor: alice, object: article.id });
  await ctx.sendActivity({ identifier: "alice" }, blog, like);
  check("reply-and-like-sent", true);
  await awaitStep("reply-and-like");
  await ctx.sendActivity({ identifier: "alice" }, blog, new Undo({
    id: new URL(`${base}/undo-like/1`), actor: alice, object: like,
  }));
  check("undo-like-sent", true);
  await awaitStep("undo-like");

  // Forged requests: each must be refused with 401 (and change nothing).
  const keyId = (await ctx.getActorKeyPairs("alice"))[0].keyId;
  const likeBody = (n, actor = alice.href) => JSON.stringify({
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${base}/likes/${n}`, type: "Like", actor, object: article.id.href,
  });
  const signed = async (body, date) => {
    const headers = new Headers({ "Content-Type": "application/activity+json" });
    if (date) headers.set("Date", date.toUTCString());
    const request = new Request(blog.inboxId, { method: "POST", headers, body });
    return await signRequest(request, keyPair.privateKey, keyId);
  };
  const original = await signed(likeBody(2));
  const tampered = await fetch(blog.inboxId, {
    method: "POST", headers: original.headers, body: likeBody(3),
  });
  check("tampered-refused", tampered.status === 401, tampered.status);
  const foreign = await fetch(await signed(likeBody(4, `${base}/users/bob`)));
  check("foreign-key-refused", foreign.status === 401, foreign.status);
  const replayed = await fetch(await signed(likeBody(5), new Date(Date.now() - 13 * 3600 * 1000)));
  check("replayed-refused", replayed.status === 401, replayed.status);
  if (!fedify.Note) {
    // Fedify 2.x: a request signed with RFC 9421 only (of something not
    // the blog's, so it changes nothing) is verified; tampered, refused.
    const elsewhere = JSON.stringify({
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${base}/likes/6`, type: "Like", actor: alice.href, object: "https://elsewhere.example/x",
    });
    const r9421 = await signRequest(new Request(blog.inboxId, {
      method: "POST", headers: { "Content-Type": "application/activity+json" }, body: elsewhere,
    }), keyPair.privateKey, keyId, { spec: "rfc9421" });
    check("rfc9421-signed", r9421.headers.has("Signature-Input") && !r9421.headers.has("Digest"));
    const headers = new Headers(r9421.headers);
    const accepted = await fetch(r9421);
    check("rfc9421-verified", accepted.status === 202, accepted.status);
    const forged = await fetch(blog.inboxId, { method: "POST", headers, body: likeBody(7) });
    check("rfc9421-tampered-refused", forged.status === 401, forged.status);
  }
  await awaitStep("forged");

  await awaitStep("publish-update");
  const update = received.find((a) => a instanceof Update);
  const updated = await update?.getObject();
  check("update-verified", update != null && updated?.updated != null, String(updated?.updated));

  await awaitStep("publish-delete");
  const del = received.find((a) => a instanceof Delete);
  check("delete-verified", del != null && del.objectId?.href === article?.id?.href, del?.objectId?.href);

  await ctx.sendActivity({ identifier: "alice" }, blog, new Undo({
    id: new URL(`${base}/undo/1`), actor: ctx.getActorUri("alice"), object: follow,
  }));
  check("undo-sent", true);
} catch (error) {
  check("scenario", false, String(error).replaceAll("\n", " "));
}
console.log(`${passed} passed, ${failed} failed`);
server.close();
process.exit(0);
