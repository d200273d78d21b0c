// Runs @chrisburnell/eleventy-cache-webmentions the way Eleventy does:
// calls the plugin with a stand-in `eleventyConfig` that keeps the global
// data the plugin adds, then prints that data and every URL the plugin
// fetched (as JSON on stdout). Options come from PLUGIN_OPTIONS (JSON).
import plugin from "@chrisburnell/eleventy-cache-webmentions";

const fetched = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
	fetched.push(String(url));
	return realFetch(url, init);
};

const options = JSON.parse(process.env.PLUGIN_OPTIONS);
const globals = {};
await plugin(
	{
		addGlobalData: (name, value) => {
			globals[name] = value;
		},
		addFilter: () => {},
	},
	options,
);
process.stdout.write(
	JSON.stringify({
		fetched,
		all: globals.webmentionsAll,
		byUrl: globals.webmentionsByURL,
	}),
);
