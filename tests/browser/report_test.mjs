// Opens chatbatch HTML reports in headless Chromium (Debian's, through
// playwright-core): the report of the run scripts/browser-test.sh makes, its
// comparison with a baseline ("changing" replied differently, "flip" went
// from error to failed, "longer" gained a turn, "fresh" is new, "gone" is
// missing), and the side-by-side report of a matrix job's two sets. Checks
// that they render without console errors or page errors, that every
// filter shows exactly its rows, that the counts shown equal those of
// `chatbatch compare --json` for the same pair, that a click shows a
// transcript, and that hostile replies stay text; screenshots each view
// into SCREENSHOT_DIR. The expected rows are the jobs' in
// scripts/browser-test.sh. Exits non-zero on any failure, including a check
// that could not run.
//
//   node report_test.mjs REPORT.html COMPARE.html COMPARE.json \
//        VARIANTS.html SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [reportPath, comparePath, compareJson, variantsPath, screenshotDir] =
    process.argv.slice(2);
if (!reportPath || !comparePath || !compareJson || !variantsPath || !screenshotDir) {
  console.error('usage: node report_test.mjs REPORT.html COMPARE.html ' +
                'COMPARE.json VARIANTS.html SCREENSHOT_DIR');
  process.exit(2);
}
const kAll = ['changing', 'cut-short', 'flip', 'fresh', 'greeting', 'hostile',
              'longer', 'reasoning', 'server-down', 'slow', 'wrong'];
const kOk = ['changing', 'fresh', 'greeting', 'hostile', 'longer', 'reasoning',
             'slow'];
const kFailed = ['flip', 'wrong'];
const kError = ['cut-short', 'server-down'];
const kChanged = ['changing', 'flip', 'longer'];
const kCompareAll = [...kAll, 'gone'].sort();
// The matrix job is the run's job: both sets have its conversations.
const kVariantsAll = kAll;

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

// Clicks filter "name"; the rows it shows must be "want" and as many as its
// button says.
async function filter(page, name, want) {
  const button = page.locator(`.filters button[data-filter="${name}"]`);
  check(await button.count() === 1, `a "${name}" filter button`);
  if (await button.count() !== 1) return;
  await button.click();
  const shown = await visibleIds(page);
  same(shown, want, `"${name}" filter shows`);
  const n = Number(await button.getAttribute('data-n'));
  same(shown.length, n, `"${name}" rows shown = the count on its button`);
  check((await button.innerText()).endsWith(`(${n})`),
        `"${name}" button says (${n})`);
}

// The number the report shows for "name": its filter button's and, when
// there is one, its card's (they must agree).
async function shownCount(page, name) {
  const button = page.locator(`.filters button[data-filter="${name}"]`);
  if (await button.count() !== 1) return NaN;
  const n = Number(await button.getAttribute('data-n'));
  const card = page.locator(`.card[data-count="${name}"] b`);
  if (await card.count() === 1) {
    same(Number(await card.innerText()), n, `"${name}" card = its button`);
  }
  return n;
}

// Opens "url" on a fresh page that records what would betray an injection:
// dialogs (alert), page errors and any request beyond the file itself.
async function open(context, url) {
  const page = await context.newPage();
  const seen = { requests: [], errors: [], dialogs: [], console: [] };
  page.on('request', (r) => { if (!r.url().startsWith('file:')) seen.requests.push(r.url()); });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') seen.console.push(m.text()); });
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
  same(seen.console, [], `${what}: console errors`);
  same(seen.requests, [], `${what}: network requests`);
}

async function screenshot(page, name) {
  const path = join(screenshotDir, `chatbatch-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
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
  check(await page.locator('svg.chart').count() === 3,
        'three SVG charts (TTFT, duration, chunk gap)');
  check(await page.locator('#deltas').count() === 0, 'no deltas without a baseline');
  check(await page.locator('section.transcript:visible').count() === 0,
        'no transcript open at first');
  check(await page.locator('.filters button[data-filter="changed"]').count() === 0,
        'no "changed" filter without a baseline');

  const wrong = await transcriptOf(page, 'wrong');
  check(wrong.all.includes('What is 2+2?') && wrong.assistant.includes('five'),
        'the transcript shows the user turn and the reply');
  const box = await page.locator('section.transcript:visible').boundingBox();
  check(box !== null && box.height > 50, 'it has a visible size');

  await filter(page, 'ok', kOk);
  await filter(page, 'failed', kFailed);
  await filter(page, 'error', kError);
  await filter(page, 'pending', []);
  await filter(page, 'all', kAll);

  // Untrusted replies stay text: no injected element, no alert.
  const hostile = await transcriptOf(page, 'hostile');
  check(hostile.assistant.includes('<script>alert(1)</script></textarea> & more'),
        'a reply with <script> and </textarea> renders as that text');
  await noInjection(page, seen, 'report');
  await filter(page, 'all', kAll);
  await screenshot(page, 'report');

  // The comparison: the counts it shows are compare's for the same pair.
  const doc = JSON.parse(readFileSync(compareJson, 'utf8'));
  const cmp = await open(context, comparePath);
  same(await visibleIds(cmp.page), kCompareAll, 'comparison rows at first');
  const want = {
    changed: doc.counts.conversations.changed,
    missing: doc.counts.conversations.missing,
    new: doc.counts.conversations.new,
    ok: doc.counts.status.run.ok,
    failed: doc.counts.status.run.failed,
    error: doc.counts.status.run.error,
    pending: doc.counts.status.run.pending,
  };
  for (const [name, n] of Object.entries(want)) {
    same(await shownCount(cmp.page, name), n,
         `"${name}" shown = compare --json's`);
  }
  await filter(cmp.page, 'changed', kChanged);
  await filter(cmp.page, 'missing', ['gone']);
  await filter(cmp.page, 'new', ['fresh']);
  await filter(cmp.page, 'ok', kOk);
  await filter(cmp.page, 'failed', kFailed);
  await filter(cmp.page, 'error', kError);
  await filter(cmp.page, 'pending', []);
  await filter(cmp.page, 'all', kCompareAll);
  check(await cmp.page.locator('svg.chart .bar-base').count() > 0,
        'the charts draw the baseline');
  check(await cmp.page.locator('#deltas tr.delta').count() === 3,
        'p50/p90/p99 changes of TTFT, duration and chunk gap');

  // error -> failed: the baseline's error is shown beside the new reply.
  const flip = await transcriptOf(cmp.page, 'flip');
  check(flip.all.includes('RuntimeError: flip was down'),
        'the baseline box of an error turned failed holds its error');
  const longer = await transcriptOf(cmp.page, 'longer');
  check(longer.all.includes('and a second') &&
        await cmp.page.locator('section.transcript:visible [data-turn-change="new"]').count() === 1,
        'a turn only in the run is marked new');
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
  await filter(cmp.page, 'all', kCompareAll);
  await screenshot(cmp.page, 'compare');

  // A matrix job's two sets side by side.
  const vs = await open(context, variantsPath);
  check(await vs.page.locator('tr.variant').count() === 2,
        'one summary row per matrix set');
  same(await vs.page.locator('tr.variant td:first-child').allInnerTexts(),
       ['one', 'two'], 'the sets, by name');
  same(await visibleIds(vs.page), kVariantsAll, 'side-by-side rows at first');
  await filter(vs.page, 'failed', kFailed);
  await filter(vs.page, 'all', kVariantsAll);
  await vs.page.locator('tr.conv', { hasText: 'greeting' }).click();
  const grid = vs.page.locator('section.transcript:visible .grid');
  check(await grid.count() === 1 &&
        await grid.locator('.colhead').count() === 2,
        'a transcript shows both sets side by side');
  await noInjection(vs.page, vs.seen, 'side by side');
  await screenshot(vs.page, 'variants');
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} browser check(s) failed`);
  process.exit(1);
}
console.log('browser test passed');
