/**
 * The checker's text output: one line per finding, then the count line.
 */
import type { CheckReport } from './engine';
import type { Finding } from './types';

/** `file: Kind namespace/name field.path: message [rule]`, greppable by file, object or rule id. */
export function formatFinding(finding: Finding): string {
  const where = finding.path ? `${finding.object} ${finding.path}` : finding.object;
  return `${finding.file}: ${where}: ${finding.message} [${finding.rule}]`;
}

/**
 * The whole report. Waived findings are listed too (prefixed `waived:`, with the
 * reason) so a review sees every exemption at work; they do not fail the run.
 * The last line is exactly `N passed, M failed`.
 */
export function formatReport(report: CheckReport): string {
  const lines = report.findings.map(formatFinding);
  for (const { finding, exemption } of report.waived) {
    lines.push(`waived: ${formatFinding(finding)} (reason: ${exemption.reason})`);
  }
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return lines.join('\n') + '\n';
}
