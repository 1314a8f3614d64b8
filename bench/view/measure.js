// bench/view/measure.js URL CALL: in headless chromium, the seconds from
// opening the viewer's page to its rendered overview (the threads table),
// then from opening #/call/CALL to its callees and first assembly line.
// Prints "overview S" and "call S". Uses tests/web's playwright-core.
'use strict';
const path = require('path');
const fs = require('fs');
const pw = require(path.join(__dirname, '../../tests/web/node_modules/playwright-core'));

(async () => {
  const [url, call] = process.argv.slice(2);
  const exe = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => fs.existsSync(p));
  const browser = await pw.chromium.launch({
    executablePath: exe,
    args: process.getuid() === 0 ? ['--no-sandbox'] : [],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(120000);
  await page.goto('about:blank');
  let t = Date.now();
  await page.goto(url);
  await page.waitForSelector('#threads td');
  console.log('overview ' + ((Date.now() - t) / 1000).toFixed(2));
  t = Date.now();
  await page.goto(url + '#/call/' + call);
  await page.waitForSelector('#callees td');
  await page.waitForFunction(() => document.querySelector('#asm .row .ins'));
  console.log('call ' + ((Date.now() - t) / 1000).toFixed(2));
  await browser.close();
})().catch((e) => {
  console.log('error ' + e.message.split('\n')[0]);
  process.exit(1);
});
