// Opens a chatbatch HTML report in headless Chromium (Debian's, through
// playwright-core) and checks that it renders, filters, and shows a
// conversation's transcript on click. Exits non-zero on any failure.
//
//   node report_test.mjs REPORT.html EXPECTED_ROWS SCREENSHOT.png
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [reportPath, expectedRowsArg, screenshot] = process.argv.slice(2);
if (!reportPath || !expectedRowsArg || !screenshot) {
  console.error('usage: node report_test.mjs REPORT.html ROWS SCREENSHOT.png');
  process.exit(2);
}
const expectedRows = Number(expectedRowsArg);
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
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
  const page = context.pages()[0] ?? await context.newPage();
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });

  await page.goto(pathToFileURL(resolve(reportPath)).href, { waitUntil: 'load' });
  const title = await page.title();
  check(title.startsWith('chatbatch report: '), `title "${title}"`);
  const rows = page.locator('tr.conv');
  check(await rows.count() === expectedRows, `${await rows.count()} rows (want ${expectedRows})`);
  check(await page.locator('svg.chart').count() === 2, 'two SVG charts');
  check(await page.locator('section.transcript:visible').count() === 0,
        'no transcript open at first');

  // Click the first failed or errored conversation (else the first one).
  let row = page.locator('tr.conv[data-status="error"], tr.conv[data-status="failed"]').first();
  if (await row.count() === 0) row = rows.first();
  const id = (await row.locator('td').first().innerText()).trim();
  await row.click();
  const transcript = page.locator('section.transcript:visible');
  check(await transcript.count() === 1, `one transcript visible after clicking ${id}`);
  check((await transcript.locator('h2').innerText()).includes(id), 'it is the clicked conversation');
  check(await transcript.locator('.msg.user').count() >= 1, 'it shows user turns');
  check(await transcript.isVisible() && (await transcript.boundingBox()).height > 50,
        'it has a visible size');

  // Filters: "error" shows only error rows.
  await page.locator('.filters button[data-filter="error"]').click();
  const visible = await page.locator('tr.conv:visible').evaluateAll(
      (rs) => rs.map((r) => r.dataset.status));
  check(visible.length > 0 && visible.every((s) => s === 'error'),
        `error filter shows ${visible.length} error rows`);
  await page.locator('.filters button[data-filter="all"]').click();
  check(await page.locator('tr.conv:visible').count() === expectedRows, 'all filter restores rows');

  // Untrusted replies stay text: no injected element, no alert.
  check(await page.locator('script').count() === 1, 'only the report\'s own script');
  const hostile = page.locator('tr.conv', { hasText: 'hostile' });
  if (await hostile.count() === 1) {
    await hostile.click();
    const text = await page.locator('section.transcript:visible .assistant pre').first().innerText();
    check(text.includes('<script>alert(1)</script></textarea>'),
          'a reply with <script> and </textarea> renders as text');
    await page.waitForTimeout(200);
    check(dialogs.length === 0, 'no dialog was opened');
    await row.click();
  }
  check(pageErrors.length === 0, `no page errors ${pageErrors.join('; ')}`);
  check(requests.length === 0, `no network requests ${requests.join(' ')}`);

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} browser check(s) failed`);
  process.exit(1);
}
console.log('browser test passed');
