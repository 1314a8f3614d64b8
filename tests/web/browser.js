#!/usr/bin/env node
// The viewer's page in a real browser: Debian's chromium, headless, driven
// by playwright-core (tests/web/package.json). Opens the page of a viewer
// on the traced fixture (common.py builds it: api.py runs first) and checks
// that each view renders from the API with no error in the console; keeps
// a screenshot of each in BUILD/tests/web/screenshots/. Ends with
// "web-browser: N passed, M failed" (or "skipped" and why, when chromium
// cannot run here).
//
// Usage: node tests/web/browser.js BUILD_DIR
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const build = path.resolve(process.argv[2] || 'build');
const trace = path.join(build, 'tests/web/calls.trace');
const shots = path.join(build, 'tests/web/screenshots');
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(p => fs.existsSync(p));

let passed = 0, failed = 0;

function skip(why) {
  console.log('web-browser: skipped: ' + why);
  console.log('web-browser: 0 passed, 0 failed');
  process.exit(0);
}

function startViewer() {
  const env = { ...process.env };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  const proc = spawn(path.join(build, 'nosco'), ['view', '--no-open', trace],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('no URL from nosco view: ' + err)), 10000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /^nosco: viewing .* at (http:\S+)$/m.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.on('exit', (code) => reject(new Error('nosco view exited with ' + code + ': ' + err)));
  });
}

async function check(name, page, fn) {
  try {
    await fn();
    passed++;
  } catch (e) {
    failed++;
    console.log('FAIL web-browser ' + name + ': ' + (e && e.message ? e.message.split('\n')[0] : e));
  }
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true }).catch(() => {});
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

async function main() {
  let pw;
  try {
    pw = require('playwright-core');
  } catch (e) {
    skip('playwright-core is not installed (scripts/install-deps installs it into tests/web/node_modules)');
  }
  if (!CHROMIUM) skip('no chromium (Debian package chromium)');
  let browser;
  try {
    browser = await pw.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As root (containers, CI), chromium runs only without its sandbox.
      args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
    });
  } catch (e) {
    skip('chromium cannot run here: ' + String(e.message).split('\n')[0]);
  }
  fs.mkdirSync(shots, { recursive: true });
  const { proc, url } = await startViewer();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The one error expected: the 404 of the call that bad-link asks for.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/=999\b/.test(m.location().url || '')) {
        errors.push(m.text() + ' ' + (m.location().url || ''));
      }
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.setDefaultTimeout(10000);

    await check('overview', page, async () => {
      await page.goto(url);
      await page.waitForSelector('#threads td');
      await page.waitForFunction(() => /20 calls/.test(document.getElementById('counts').textContent));
      const text = await page.textContent('main');
      expect(/calls/.test(await page.textContent('h1')), 'title: ' + await page.textContent('h1'));
      expect(text.includes('exited with code 0') && text.includes('20 calls'), 'facts: ' + text.slice(0, 300));
      expect(!text.includes('null'), 'a part not shown written as null: ' + text.slice(0, 300));
      // The thread summaries: its calls and root calls, without a pass over the calls
      const row = await page.$$eval('#threads tr:nth-child(2) td', (tds) => tds.map((t) => t.textContent));
      expect(row[3] === '20' && row[4] === '1', 'thread row: ' + row);
    });

    await check('call-0', page, async () => {
      await page.goto(url + '#/call/0');
      await page.waitForSelector('#callees td');
      const callees = await page.$$eval('#callees tr td:nth-child(2)', (tds) => tds.map((t) => t.textContent));
      expect(JSON.stringify(callees) === '["a","report"]', 'callees: ' + callees);
      // Their self counts follow: a calls b and c, 17 instructions of its own.
      await page.waitForFunction(() => document.querySelector('#callees tr:nth-child(2) td:nth-child(6)')?.textContent === '2');
      await page.waitForFunction(() => document.querySelector('#asm .row .ins')?.textContent);
      const first = await page.$$eval('#asm .row', (rows) => rows.slice(0, 3).map((r) => r.textContent));
      expect(first[0].includes('main') && /push|mov|sub|endbr/.test(first[0]), 'assembly: ' + first);
      const lines = await page.$$eval('#asm .row .line', (l) => l.map((x) => x.textContent).join(' '));
      expect(lines.includes('calls.c:'), 'no source lines: ' + lines.slice(0, 200));
      // The callee's first instruction links to it.
      await page.evaluate(() => { const b = document.getElementById('asm'); b.scrollTop = 200; });
      await page.waitForFunction(() => document.querySelector('#asm .row.inner'));
    });

    await check('search', page, async () => {
      await page.goto(url + '#/');
      await page.waitForSelector('#threads');
      await page.fill('#search-q', 'report');
      await page.press('#search-q', 'Enter');
      await page.waitForSelector('#results td');
      expect((await page.evaluate(() => location.hash)) === '#/search?q=report', 'the URL of the search');
      const names = await page.$$eval('#results tr td:first-child', (tds) => tds.map((t) => t.textContent));
      expect(names.includes('report'), 'results: ' + names);
      await page.reload();
      await page.waitForSelector('#results td');
      await page.click('#results a[href="#/call/7"]');
      await page.waitForFunction(() => document.querySelector('h1')?.textContent.startsWith('report'));
    });

    await check('timeline', page, async () => {
      // Drawn: pixels of the canvas that are neither unpainted nor its background.
      const drawn = (min) => {
        const c = document.querySelector('canvas.timeline');
        if (!c || !c.width) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let coloured = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] && (d[i] !== 250 || d[i + 1] !== 250 || d[i + 2] !== 250)) coloured++;
        }
        return coloured > min;
      };
      await page.goto(url + '#/timeline/0');
      await page.waitForFunction(drawn, 1000);
      // Zooming in changes the URL to the new window, and the calls are drawn again.
      const b = await (await page.$('canvas.timeline')).boundingBox();
      await page.mouse.move(b.x + b.width / 3, b.y + 5);
      await page.mouse.wheel(0, -400);
      await page.waitForFunction(() => /from=\d+&to=\d+/.test(location.hash) && !/from=0&/.test(location.hash));
      const hash = await page.evaluate(() => location.hash);
      await page.waitForFunction((h) => document.querySelector('.tlwrap .muted').textContent.includes(
        Number(/to=(\d+)/.exec(h)[1]).toLocaleString('en-US')), hash);
      expect(await page.evaluate(drawn, 1000), 'zoomed in: nothing drawn');
      await page.reload();
      await page.waitForFunction((h) => document.querySelector('.tlwrap .muted').textContent.includes(
        Number(/to=(\d+)/.exec(h)[1]).toLocaleString('en-US')), hash);
    });

    await check('flame', page, async () => {
      await page.goto(url + '#/flame/0');
      await page.waitForSelector('#flame .frame');
      const frames = await page.$$eval('#flame .frame', (f) => f.map((x) => x.textContent));
      expect(frames[0] === 'main' && frames.includes('a') && frames.includes('c'), 'frames: ' + frames);
    });

    await check('tree', page, async () => {
      await page.goto(url + '#/tree');
      await page.waitForSelector('ul.tree li');
      await page.click('ul.tree li[data-id="0"] > .twisty');
      await page.waitForSelector('li[data-id="1"]');
      await page.click('li[data-id="1"] > .twisty');
      await page.waitForSelector('li[data-id="2"]');
      const counts = await page.textContent('li[data-id="0"] > .counts');
      expect(/self/.test(counts), 'self count: ' + counts);
    });

    await check('bad-link', page, async () => {
      await page.goto(url + '#/call/999');
      await page.waitForSelector('main .error');
      expect((await page.textContent('main .error')).includes('no call 999'), 'message');
    });
  } finally {
    await browser.close();
    proc.kill('SIGINT');
  }
  if (errors.length) {
    failed++;
    console.log('FAIL web-browser console: ' + errors.join(' | '));
  } else {
    passed++;
  }
  console.log('web-browser: ' + passed + ' passed, ' + failed + ' failed (screenshots in ' + shots + ')');
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log('web-browser: error: ' + e.message);
  console.log('web-browser: 0 passed, 1 failed');
  process.exit(1);
});
