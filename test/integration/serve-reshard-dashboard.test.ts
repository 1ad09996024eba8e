/**
 * The dashboard during a reshard, in headless Chromium: it shows the active generation and the drain of the sealed
 * one (its events left), the old generation's backlog in the lag total and as bars of its own (g0·p<n>), then
 * "nothing draining" and no old bars once the old generation retired. Skipped without Chromium.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, skipWithoutChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/cli.js';
import { adminCall, dashboardUrl, postEvent, startServe, waitUntil } from '../helpers/cell-serve.js';

test(
  'serve reshard dashboard - shows the generation and the drain of the old one',
  { skip: skipWithoutChromium },
  async () => {
    const t = tempDir('shock-reshard-dash-');
    const serve = await startServe(`${t.dir}/data`, ['--partitions', '2', '--consumers', '1']);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(dashboardUrl(serve));
      const text = (k: string) => page.locator(`[data-k="${k}"]`).first().textContent();
      await waitUntil(async () => (await text('generation')) === '0', 15_000);
      assert.equal(await text('generationDrain'), 'nothing draining');

      // Paused consumers leave generation 0 with 12 events to drain after the switch.
      assert.equal((await adminCall(serve, '/admin/consumers/pause', 'POST')).status, 200);
      for (let i = 0; i < 12; i++) {
        const r = await postEvent(serve.url, serve.devKey, {
          type: 'page.view',
          payload: { url: `/${i}` },
          key: `k${i}`,
        });
        assert.equal(r.status, 202);
      }
      const reshard = await adminCall(serve, '/admin/reshard', 'POST', { partitions: 4 });
      assert.equal(reshard.status, 200);
      await waitUntil(async () => (await text('generation')) === '1', 15_000);
      assert.equal(await text('generationDrain'), 'draining gen 0 (2 partitions): 12 events left');
      assert.match((await text('subtitle')) ?? '', /^4 partitions/);
      // The lag shown counts the draining generation's backlog: its partitions' bars follow the active ones.
      const oldBars = async () => {
        const values = await page.locator('[data-k^="lag-g0-"]').allTextContents();
        return values.length === 2 ? values.reduce((a, v) => a + Number(v), 0) : -1;
      };
      await waitUntil(async () => (await oldBars()) === 12 && (await text('lag')) === '12', 15_000);
      assert.equal(await page.locator('.bar').count(), 4 + 2);

      assert.equal((await adminCall(serve, '/admin/consumers/resume', 'POST')).status, 200);
      await waitUntil(async () => (await text('generationDrain')) === 'nothing draining', 15_000);
      await waitUntil(async () => (await oldBars()) === -1 && (await text('lag')) === '0', 15_000);
    } finally {
      await browser.close();
      assert.equal((await serve.stop('SIGTERM')).code, 0);
      t.cleanup();
    }
  },
);
