/**
 * Filling bench/RESULTS.md: the report of a run goes between the BENCH:BEGIN and BENCH:END
 * markers (headings moved one level down to sit under the file's own), and the prose around the
 * markers (method, how to reproduce, reading notes) is kept as written.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** The marker lines. */
export const BEGIN = '<!-- BENCH:BEGIN (written by `npm run bench -- --update-results`, do not edit by hand) -->';
export const END = '<!-- BENCH:END -->';

/** `text` with the generated section replaced by `report`. Markers are added at the end when missing. */
export function withReport(text: string, report: string): string {
  const demoted = report.replace(/^(#+) /gm, '#$1 ').trimEnd();
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) return `${text.trimEnd()}\n\n${BEGIN}\n${demoted}\n${END}\n`;
  return `${text.slice(0, begin + BEGIN.length)}\n${demoted}\n${text.slice(end)}`;
}

/** Rewrite `file` with `report` between its markers. */
export function updateResultsFile(file: string, report: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  writeFileSync(file, withReport(text, report));
}
