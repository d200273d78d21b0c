// Loads a page built by `mkdocs build` with mkdocs-webmention in jsdom,
// with its endpoint changed from https://webmention.io to API (the one host
// name a user changes), runs the plugin's own webmention.js in it, waits
// for its requests, and prints the URLs it fetched and the rendered
// container (as JSON on stdout). Env: PAGE (the built HTML file), PAGE_URL
// (its address on the site), SCRIPT (webmention.js), API.
import fs from "node:fs";
import { JSDOM } from "jsdom";

const html = fs
	.readFileSync(process.env.PAGE, "utf8")
	.replaceAll("https://webmention.io", process.env.API);
const dom = new JSDOM(html, {
	url: process.env.PAGE_URL,
	runScripts: "outside-only",
	pretendToBeVisual: true,
});
const { window } = dom;
const fetched = [];
let pending = 0;
// jsdom has no fetch: hand it Node's, with Node's AbortController so the
// signal the script passes is one Node's fetch accepts.
window.AbortController = globalThis.AbortController;
window.fetch = (url, init) => {
	fetched.push(String(url));
	pending += 1;
	return fetch(url, init).finally(() => {
		pending -= 1;
	});
};
window.eval(fs.readFileSync(process.env.SCRIPT, "utf8"));

const container = window.document.querySelector(".wm");
const deadline = Date.now() + 20000;
// Done when its requests are answered and it no longer says "loading".
while (
	Date.now() < deadline &&
	(fetched.length === 0 || pending > 0 || container.querySelector(".wm__status--loading, [data-state='loading']"))
) {
	await new Promise((resolve) => setTimeout(resolve, 50));
}
await new Promise((resolve) => setTimeout(resolve, 200));
process.stdout.write(
	JSON.stringify({
		fetched,
		html: container.outerHTML,
		text: container.textContent,
	}),
);
