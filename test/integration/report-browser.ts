/** Opens a report in headless Chromium (Debian `chromium` through playwright-core) and takes a screenshot. */
import { pathToFileURL } from 'node:url';
import { chromiumPath as installedChromium, launchChromium, skipWithoutChromium } from '../helpers/browser.js';

/**
 * The Chromium executable, or null when it is not installed (the browser checks are then skipped). Under CI a
 * missing browser fails instead: `skipWithoutChromium` throws when browser.ts is loaded (dependency.ts).
 */
export function chromiumPath(): string | null {
  return skipWithoutChromium === false ? (installedChromium ?? null) : null;
}

/** What the page showed. */
export interface ReportView {
  title: string;
  svgCount: number;
  pointCount: number;
  curveCount: number;
  bandCount: number;
  errors: string[];
}

/** Loads the HTML file, counts its plots and their marks, and saves a full-page screenshot to `pngPath`. */
export async function screenshotReport(htmlPath: string, pngPath: string): Promise<ReportView> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(htmlPath).toString());
    const view = await page.evaluate(() => ({
      title: document.title,
      svgCount: document.querySelectorAll('svg').length,
      pointCount: document.querySelectorAll('circle.point').length,
      curveCount: document.querySelectorAll('path.curve').length,
      bandCount: document.querySelectorAll('polygon.band').length,
    }));
    await page.screenshot({ path: pngPath, fullPage: true });
    return { ...view, errors };
  } finally {
    await browser.close();
  }
}
