// Accessibility check of HTML reports in headless Chromium with axe-core.
//
// Usage: node axe_check.mjs [--screenshots DIR] FILE.html [FILE.html ...]
//
// Launches Debian's Chromium (CHROMIUM env var, default /usr/bin/chromium) through
// playwright-core (no browser download) with a fresh temporary profile and no background
// networking, opens each file as a file:// URL, injects axe-core from node_modules and runs the
// WCAG 2.0/2.1 A+AA, WCAG 2.2 AA and best-practice rules. Any request the page makes to a
// non-file, non-data URL is blocked and listed: a self-contained report makes none.
//
// Prints one JSON array to stdout: [{file, violations: [{id, impact, help, nodes: [target]}],
// external_requests: [url], screenshot: path|null}]. Exits 0 even when there are violations
// (the Python side asserts); exits 1 when the check itself cannot run.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { chromium } from "playwright-core";

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function parseArguments(argv) {
  const files = [];
  let screenshots = null;
  for (let index = 0; index < argv.length; index += 1) {
    if (argv[index] === "--screenshots") {
      screenshots = resolve(argv[index + 1]);
      index += 1;
    } else {
      files.push(resolve(argv[index]));
    }
  }
  if (files.length === 0) {
    throw new Error("usage: node axe_check.mjs [--screenshots DIR] FILE.html [...]");
  }
  return { files, screenshots };
}

async function checkFile(context, axeSource, file, screenshots) {
  const page = await context.newPage();
  const externalRequests = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:")) {
      return route.continue();
    }
    externalRequests.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }),
    TAGS,
  );
  let screenshot = null;
  if (screenshots) {
    screenshot = join(screenshots, `${basename(file)}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  await page.close();
  return {
    file,
    violations: results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map((node) => node.target.join(" ")),
    })),
    external_requests: externalRequests,
    screenshot,
  };
}

async function main() {
  const { files, screenshots } = parseArguments(process.argv.slice(2));
  const require = createRequire(import.meta.url);
  const axeSource = await readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  const profile = await mkdtemp(join(tmpdir(), "ptw-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  try {
    const reports = [];
    for (const file of files) {
      reports.push(await checkFile(context, axeSource, file, screenshots));
    }
    process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`axe_check: ${error.stack || error}\n`);
  process.exit(1);
});
