/**
 * `shock report` — reason from birth certificates: `compare A B` (what moved, beyond the intervals or not, and
 * whether the change went toward the frontier, along it, or backwards), `audit CERT` (the auditor's questions) and
 * `render CERT --out report.html`.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { shockError } from '../../base/index.js';
import { auditCertificate, formatAudit } from '../../measure/report/audit.js';
import { readCertificate } from '../../measure/report/certificate.js';
import { renderCertificateHtml } from '../../measure/report/certificate-html.js';
import { compareCertificates, formatComparison } from '../../measure/report/compare.js';
import { printJson, printText } from '../output.js';

export function register(program: Command): void {
  const report = program
    .command('report')
    .description('compare, audit and render birth certificates (certificate.json of shock lab)');

  report
    .command('compare')
    .description(
      'what moved from certificate A to B, beyond the 90% intervals or not; toward the frontier, along it, or a regression',
    )
    .argument('<a>', 'the earlier certificate (the baseline)')
    .argument('<b>', 'the later certificate')
    .option('--json', 'print the comparison as JSON')
    .action((a: string, b: string, o: { json?: boolean }) => {
      const comparison = compareCertificates(readCertificate(a), readCertificate(b));
      if (o.json) printJson(comparison);
      else printText(formatComparison(comparison));
    });

  report
    .command('audit')
    .description("answer the auditor's questions from a certificate, each with evidence or what to measure")
    .argument('<certificate>', 'certificate.json')
    .option('--json', 'print the audit as JSON')
    .action((path: string, o: { json?: boolean }) => {
      const audit = auditCertificate(readCertificate(path));
      if (o.json) printJson(audit);
      else printText(formatAudit(audit));
    });

  report
    .command('render')
    .description('render a certificate as a self-contained HTML report')
    .argument('<certificate>', 'certificate.json')
    .requiredOption('--out <file>', 'the HTML file to write')
    .action((path: string, o: { out: string }) => {
      const html = renderCertificateHtml(readCertificate(path));
      try {
        writeFileSync(o.out, html);
      } catch (cause) {
        throw shockError('SHOCK_CLI_OUTPUT_UNWRITABLE', `cannot write ${o.out}`, { file: o.out }, cause);
      }
      printText(`wrote ${o.out}`);
    });
}
