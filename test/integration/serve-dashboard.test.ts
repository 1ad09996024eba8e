/**
 * The live dashboard of a zero-config `shock serve`, in headless Chromium: the page loads with no external assets,
 * shows the cell's real numbers after events are sent (accepted total, lag per partition as bars while the
 * consumers are paused), and keeps refreshing. Skipped when no Chromium is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, skipWithoutChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/cli.js';
import { adminCall, dashboardUrl, postEvent, startServe, waitUntil } from '../helpers/cell-serve.js';

const screenshotPath = '/tmp/shock-dashboard.png';

test(
  'serve dashboard - shows the real numbers of the cell and keeps updating',
  { skip: skipWithoutChromium },
  async () => {
    const t = tempDir('shock-serve-dash-');
    const serve = await startServe(`${t.dir}/data`, ['--partitions', '4', '--consumers', '1']);
    const browser = await launchChromium();
    try {
      assert.ok(serve.devKey, 'zero-config prints a development key');
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(serve.adminUrl)) external.push(r.url());
      });
      await page.goto(dashboardUrl(serve));
      assert.equal(await page.title(), 'shock cell');
      const text = (k: string) => page.locator(`[data-k="${k}"]`).first().textContent();
      await waitUntil(async () => (await text('acceptedTotal')) === '0', 15_000);

      await adminCall(serve, '/admin/consumers/pause', 'POST');
      for (let i = 0; i < 30; i++) {
        const r = await postEvent(serve.url, serve.devKey, {
          type: 'page.view',
          payload: { url: `/${i}` },
          key: `k${i}`,
        });
        assert.equal(r.status, 202);
      }
      await waitUntil(async () => (await text('acceptedTotal')) === '30' && (await text('lag')) === '30', 15_000);
      assert.equal(await page.locator('#bars .bar').count(), 4, 'one bar per partition');
      const perPartition = await Promise.all([0, 1, 2, 3].map((p) => text(`lag-${p}`)));
      assert.equal(
        perPartition.reduce((sum, v) => sum + Number(v), 0),
        30,
        `bars add up to the lag: ${perPartition}`,
      );
      assert.equal(await text('breaker'), 'closed');
      assert.equal(await text('consumers'), 'paused');
      assert.notEqual(await text('p99'), '–');
      await page.screenshot({ path: screenshotPath, fullPage: true });

      await adminCall(serve, '/admin/consumers/resume', 'POST');
      await waitUntil(async () => (await text('lag')) === '0', 20_000);
      const refreshes = Number(await page.locator('body').getAttribute('data-refreshes'));
      await waitUntil(
        async () => Number(await page.locator('body').getAttribute('data-refreshes')) >= refreshes + 2,
        15_000,
      );
      assert.deepEqual(external, [], 'no request leaves the cell');
    } finally {
      await browser.close();
      await serve.stop('SIGTERM');
      t.cleanup();
    }
  },
);
