// A real, independent ActivityPub server for backfeed's tests: a Fedify
// federation with one actor, alice, on 127.0.0.1. Driven over stdin/stdout
// by tests/it/fedify.rs, one step at a time, so that the Rust side runs
// backfeed's job queue between steps and nothing waits on a timer.
//
//   argv[2]: the blog actor's URL.
//   stdout:  "ready", then one "check <name> ok|fail <detail>" per check,
//            "await <step>" when it wants the Rust side to run its jobs and
//            answer with a line on stdin, and finally "N passed, M failed".
import http from "node:http";
import readline from "node:readline";
import {
  Accept, Article, Create, Delete, Endpoints, Follow, MemoryKvStore, Person, Undo, Update,
  createFederation,
  generateCryptoKeyPair,
} from "@fedify/fedify";

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
