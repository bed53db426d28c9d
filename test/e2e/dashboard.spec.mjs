// The dashboard in headless chromium (npm playwright-core, Debian's
// /usr/bin/chromium), run by test/e2e/t9000-dashboard.sh against an evb-api
// that serves two calls (EVB_CALL completed with an interruption,
// EVB_ACTIVE_CALL in progress). A plain node script: it prints one line per
// step and exits 1 at the first failure. Nothing may be fetched from
// anywhere but evb-api, and no page error or CSP violation may occur.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const URL = env('EVB_URL');
const TOKEN = env('EVB_TOKEN');
const CALL = env('EVB_CALL');
const ACTIVE = env('EVB_ACTIVE_CALL');
const DOMINANT = env('EVB_DOMINANT');
const SENTIMENT = env('EVB_SENTIMENT');
const SHOTS = env('EVB_SHOTS');
const CHROMIUM = process.env.EVB_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15000;

let step = 0;
function ok(what) {
  step++;
  console.log(`ok ${step} - ${what}`);
}
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evb-chromium-'));
const problems = [];
const foreign = [];
let context;

try {
  context = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 60000,
  });
  context.setDefaultTimeout(TIMEOUT);
  // Only evb-api may be asked for anything.
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(URL + '/') || u.startsWith('data:')) return route.continue();
    foreign.push(u);
    return route.abort();
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    // Answers of 400, 401 and 502 are expected (the wrong token, the failed
    // test calls): the checks look at what the page made of them.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (400|401|502)/.test(m.text()))
      problems.push('console: ' + m.text());
  });

  // ---- sign in ----
  await page.goto(URL + '/');
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', 'wrong-token');
  await page.click('#login-form button[type=submit]');
  await page.locator('#login-error').waitFor({ state: 'visible' });
  check(/refused/.test(await page.textContent('#login-error')), 'a wrong token is refused');
  ok('a wrong token is refused on the login form');
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type=submit]');
  const row = page.locator(`#calls-body tr[data-call-id="${CALL}"]`);
  await row.waitFor();
  check(await page.evaluate(() => !!sessionStorage.getItem('evb-api-token')), 'token in sessionStorage');
  ok('signed in: the token is kept in sessionStorage');

  // ---- the list ----
  check((await row.locator('td.provider').textContent()) === 'twilio', 'provider twilio');
  check((await row.locator('td.status').textContent()) === 'completed', 'status completed');
  check((await row.locator('td.emotion').textContent()) === DOMINANT, `dominant emotion ${DOMINANT}`);
  check((await row.locator('td.sentiment').textContent()) === SENTIMENT, `sentiment ${SENTIMENT}`);
  check((await row.locator('td.numbers').textContent()).includes('+14155550111'), 'numbers');
  check((await row.textContent()).includes('sarah_sales'), 'agent');
  check((await row.locator('td.num').textContent()) === '0:20', 'duration 0:20');
  check(/2 calls: Twilio 1, Vonage 1/.test(await page.textContent('#counts')), 'counts');
  ok(`the list shows the call: twilio, completed, 0:20, ${DOMINANT}, ${SENTIMENT}`);

  await page.selectOption('#f-provider', 'vonage');
  await page.locator(`#calls-body tr[data-call-id="${CALL}"]`).waitFor({ state: 'detached' });
  await page.locator(`#calls-body tr[data-call-id="${ACTIVE}"]`).waitFor();
  check(/1 calls: Twilio 0, Vonage 1/.test(await page.textContent('#counts')), 'filtered counts');
  await page.selectOption('#f-provider', '');
  await page.selectOption('#f-status', 'completed');
  await page.locator(`#calls-body tr[data-call-id="${ACTIVE}"]`).waitFor({ state: 'detached' });
  await row.waitFor();
  await page.selectOption('#f-status', '');
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  await page.fill('#f-since', tomorrow);
  await page.locator('#calls-body td.empty').waitFor();
  await page.fill('#f-since', '');
  await row.waitFor();
  ok('filters by provider, status and date');

  // Live: the active call ends in the database; the row follows by itself.
  const active = page.locator(`#calls-body tr[data-call-id="${ACTIVE}"]`);
  check((await active.locator('td.status').textContent()) === 'in-progress', 'active call in progress');
  check(/1 active/.test(await page.textContent('#live')), 'live badge counts the active call');
  execFileSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', env('DATABASE_URL'), '-c',
    `UPDATE calls SET status = 'completed', ended_at = now(), duration_ms = 42000 WHERE id = '${ACTIVE}'`]);
  await page.waitForFunction((id) => {
    const td = document.querySelector(`#calls-body tr[data-call-id="${id}"] td.status`);
    return td && td.textContent === 'completed';
  }, ACTIVE, { timeout: 6000 });
  check((await active.locator('td.num').textContent()) === '0:42', 'live duration');
  ok('live updates: a call that ends shows completed within seconds, no reload');

  // ---- test calls: refused by the provider, provider not configured, placed ----
  async function testCall(to, provider) {
    await page.fill('#tc-to', to);
    await page.selectOption('#tc-agent', 'sarah_sales');
    await page.selectOption('#tc-provider', provider);
    await page.click('#tc-submit');
    await page.waitForFunction(() => {
      const el = document.querySelector('#test-call-result');
      return el && !el.hidden && el.textContent !== 'Calling…';
    });
    return { cls: await page.getAttribute('#test-call-result', 'class'),
      text: await page.textContent('#test-call-result') };
  }
  await page.click('#open-test-call');
  await page.locator('#tc-agent option[value="sarah_sales"]').waitFor({ state: 'attached' });
  let r = await testCall('+15005550001', 'twilio');
  check(r.cls === 'error' && /not placed/.test(r.text) && /twilio: /.test(r.text) &&
    /502 provider_error/.test(r.text), 'the provider\'s refusal is shown: ' + r.text);
  ok('a test call Twilio refuses shows the error: ' + r.text);
  r = await testCall('+14155550100', 'vonage');
  check(r.cls === 'error' && /not configured/.test(r.text) && /provider_not_configured/.test(r.text),
    'the configuration error is shown: ' + r.text);
  ok('a test call through an unconfigured provider shows the error: ' + r.text);
  r = await testCall('+14155550100', 'twilio');
  check(r.cls === 'ok' && /^Placed through twilio: [0-9a-f-]{36}$/.test(r.text), 'placed: ' + r.text);
  const placed = r.text.slice(-36);
  await page.locator(`#calls-body tr[data-call-id="${placed}"]`).waitFor();
  ok('a test call that goes through is listed: ' + placed);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-list.png'), fullPage: true });
  ok('screenshot dashboard-list.png');

  // ---- the call page ----
  await row.locator('a').click();
  await page.waitForURL(`**/#/calls/${CALL}`);
  const utts = page.locator('#transcript li.utterance');
  await utts.first().waitFor();
  const texts = await utts.locator('p.text').allTextContents();
  check(JSON.stringify(texts) === JSON.stringify([
    'Hi, I was charged twice this month',
    'I am sorry to hear that. Let me look at your account',
    'No, just refund it now',
    'Done: the refund is on its way',
    'Thank you, that is better',
  ]), 'transcript in order: ' + JSON.stringify(texts));
  check(await page.locator('#transcript li.utterance.user').count() === 3, 'three caller turns');
  check(await page.locator('#transcript li.utterance.assistant.interrupted').count() === 1,
    'the interrupted agent turn is marked');
  const first = utts.first().locator('.emotion-bar');
  check(await first.count() === 3, 'three emotion bars');
  const names = await first.locator('.name').allTextContents();
  check(JSON.stringify(names) === '["Anger","Distress","Disappointment"]', 'bar names ' + names);
  const widths = await first.locator('.fill').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
  check(widths[0] > widths[1] && widths[1] > widths[2] && widths[2] > 0, 'bar widths follow scores ' + widths);
  check((await first.locator('.score').allTextContents()).join() === '0.70,0.50,0.40', 'scores');
  ok('the transcript as a conversation, top three emotions as bars');

  const chart = page.locator('#timeline-chart');
  await chart.waitFor();
  check(await chart.locator('g.series').count() === 3, 'three emotion series');
  check(await chart.locator('g.series circle').count() === 9, 'a point per caller utterance and emotion');
  check(await chart.locator('g.series polyline').count() === 3, 'a line per emotion');
  check(await chart.locator('g.interruption').count() === 1, 'one interruption marker');
  check(await chart.locator(`g.series[data-emotion="${DOMINANT}"]`).count() === 1, 'the dominant emotion plotted');
  check(/Interruption at 0:0[78]/.test(await chart.locator('g.interruption title').first().textContent()),
    'the interruption marked at its time');
  ok('the SVG emotion timeline: 3 emotions over 3 caller turns, the interruption marked');

  await page.locator('#events table.events tbody tr').first().waitFor();
  check(await page.locator('#events table.events tbody tr').count() === 9, 'nine events');
  check((await page.locator('#events').textContent()).includes('interruption'), 'interruption event listed');
  check((await page.textContent('#call-head')).includes(DOMINANT), 'the summary names the dominant emotion');
  ok('the call\'s events and summary');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-call.png'), fullPage: true });
  ok('screenshot dashboard-call.png');

  // ---- a phone screen ----
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth);
  check(await overflow() <= 390, 'call page fits 390 px: ' + await overflow());
  // The chart is drawn again at the new width.
  await page.waitForFunction(() => {
    const svg = document.querySelector('#timeline-chart');
    return svg && svg.viewBox.baseVal.width < 400;
  });
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-call-mobile.png'), fullPage: true });
  await page.click('a.back');
  await row.waitFor();
  check(await overflow() <= 390, 'list fits 390 px: ' + await overflow());
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-list-mobile.png'), fullPage: true });
  ok('390x844: no sideways scrolling, screenshots taken');

  // ---- sign out ----
  await page.click('#logout');
  await page.locator('#login').waitFor({ state: 'visible' });
  check(await page.evaluate(() => sessionStorage.getItem('evb-api-token')) === null, 'token dropped');
  ok('sign out drops the token');

  check(foreign.length === 0, 'requests outside evb-api: ' + foreign.join(', '));
  check(problems.length === 0, 'page problems: ' + problems.join('; '));
  ok('nothing fetched from elsewhere, no page error, no CSP violation');
} catch (e) {
  console.log(`not ok ${step + 1} - ${e.message}`);
  if (problems.length) console.log('# page problems: ' + problems.join('; '));
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDir, { recursive: true, force: true });
}
