// Opens chatbatch HTML reports in headless Chromium (Debian's, through
// playwright-core): the report of the run scripts/browser-test.sh makes, and
// its comparison with a baseline where only "changing" replied differently.
// Checks that they render, that every filter shows exactly its rows, that a
// click shows a transcript, and that hostile replies stay text. The expected
// rows are the job's in scripts/browser-test.sh. Exits non-zero on any
// failure, including a check that could not run.
//
//   node report_test.mjs REPORT.html COMPARE.html SCREENSHOT.png
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [reportPath, comparePath, screenshot] = process.argv.slice(2);
if (!reportPath || !comparePath || !screenshot) {
  console.error('usage: node report_test.mjs REPORT.html COMPARE.html SCREENSHOT.png');
  process.exit(2);
}
const kAll = ['changing', 'cut-short', 'greeting', 'hostile', 'reasoning',
              'server-down', 'slow', 'wrong'];
const kFailed = ['wrong'];
const kError = ['cut-short', 'server-down'];
const kChanged = ['changing'];

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}
function same(got, want, what) {
  check(JSON.stringify(got) === JSON.stringify(want),
        `${what}: ${JSON.stringify(got)} (want ${JSON.stringify(want)})`);
}

// The ids of the rows shown, sorted.
async function visibleIds(page) {
  const ids = await page.locator('tr.conv:visible').evaluateAll(
      (rs) => rs.map((r) => r.querySelector('td').innerText.trim()));
  return ids.sort();
}

async function filter(page, name, want) {
  const button = page.locator(`.filters button[data-filter="${name}"]`);
  check(await button.count() === 1, `a "${name}" filter button`);
  if (await button.count() !== 1) return;
  await button.click();
  same(await visibleIds(page), want, `"${name}" filter shows`);
}

// Opens "url" on a fresh page that records what would betray an injection:
// dialogs (alert), page errors and any request beyond the file itself.
async function open(context, url) {
  const page = await context.newPage();
  const seen = { requests: [], errors: [], dialogs: [] };
  page.on('request', (r) => { if (!r.url().startsWith('file:')) seen.requests.push(r.url()); });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('dialog', async (d) => { seen.dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(pathToFileURL(resolve(url)).href, { waitUntil: 'load' });
  return { page, seen };
}

// Clicks the row of "id" and returns its transcript's text, and apart the
// assistant's (the user turns hold the payloads too, escaped by another path).
async function transcriptOf(page, id) {
  const row = page.locator('tr.conv', { hasText: id });
  check(await row.count() === 1, `one row for ${id}`);
  if (await row.count() !== 1) return { all: '', assistant: '' };
  await row.click();
  const transcript = page.locator('section.transcript:visible');
  check(await transcript.count() === 1, `one transcript visible after clicking ${id}`);
  if (await transcript.count() !== 1) return { all: '', assistant: '' };
  check((await transcript.locator('h2').innerText()).includes(id),
        `it is ${id}'s`);
  const assistant = await transcript.locator('.msg.assistant').allInnerTexts();
  return { all: await transcript.innerText(), assistant: assistant.join('\n') };
}

async function noInjection(page, seen, what) {
  check(await page.locator('script').count() === 1, `${what}: only the report's own script`);
  check(await page.locator('img, textarea').count() === 0,
        `${what}: no <img> or <textarea> from a reply`);
  await page.waitForTimeout(200);  // an onerror handler would have run
  same(seen.dialogs, [], `${what}: dialogs opened`);
  same(seen.errors, [], `${what}: page errors`);
  same(seen.requests, [], `${what}: network requests`);
}

const profile = mkdtempSync(join(tmpdir(), 'chatbatch-chromium-'));
// playwright wants the fresh profile as launchPersistentContext's argument.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
try {
  // The run alone.
  const { page, seen } = await open(context, reportPath);
  const title = await page.title();
  check(title.startsWith('chatbatch report: '), `title "${title}"`);
  same(await visibleIds(page), kAll, 'rows at first');
  check(await page.locator('svg.chart').count() === 2, 'two SVG charts');
  check(await page.locator('section.transcript:visible').count() === 0,
        'no transcript open at first');
  check(await page.locator('.filters button[data-filter="changed"]').count() === 0,
        'no "changed" filter without a baseline');

  const wrong = await transcriptOf(page, 'wrong');
  check(wrong.all.includes('What is 2+2?') && wrong.assistant.includes('five'),
        'the transcript shows the user turn and the reply');
  const box = await page.locator('section.transcript:visible').boundingBox();
  check(box !== null && box.height > 50, 'it has a visible size');

  await filter(page, 'failed', kFailed);
  await filter(page, 'error', kError);
  await filter(page, 'all', kAll);

  // Untrusted replies stay text: no injected element, no alert.
  const hostile = await transcriptOf(page, 'hostile');
  check(hostile.assistant.includes('<script>alert(1)</script></textarea> & more'),
        'a reply with <script> and </textarea> renders as that text');
  await noInjection(page, seen, 'report');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);

  // The comparison: only "changing" changed, and its new reply, shown as a
  // word diff beside the baseline's, is hostile too.
  const cmp = await open(context, comparePath);
  same(await visibleIds(cmp.page), kAll, 'comparison rows at first');
  await filter(cmp.page, 'changed', kChanged);
  // compare's verdicts: nothing is missing from or new in this run.
  await filter(cmp.page, 'missing', []);
  await filter(cmp.page, 'new', []);
  await filter(cmp.page, 'failed', kFailed);
  await filter(cmp.page, 'error', kError);
  await filter(cmp.page, 'all', kAll);
  const changing = await transcriptOf(cmp.page, 'changing');
  // One word, so the diff cannot split the tag.
  check(changing.assistant.includes('<img/src=x/onerror=alert(2)>'),
        'the changed reply renders <img ...> as text');
  check(changing.assistant.includes('<b>old</b>'),
        'the baseline reply renders <b> as text');
  check(await cmp.page.locator('section.transcript:visible del').count() > 0 &&
        await cmp.page.locator('section.transcript:visible ins').count() > 0,
        'removed and added words are marked');
  await noInjection(cmp.page, cmp.seen, 'comparison');
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} browser check(s) failed`);
  process.exit(1);
}
console.log('browser test passed');
