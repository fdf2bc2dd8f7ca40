/**
 * The dev server's error page, like Django's technical 500: the exception, its stack and the
 * request, so a developer sees what broke without opening a log. Only the dev server uses it;
 * production hosts answer the plain 500 from app/errors.ts and keep the details in the error log.
 */
import type { ErrorReporter } from '../../app/errors.ts';
import type { Request, Response } from '../../app/interface.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function describe(error: unknown): { title: string; stack: string } {
  if (error instanceof Error) return { title: `${error.name}: ${error.message}`, stack: error.stack ?? String(error) };
  return { title: `Thrown value: ${String(error)}`, stack: String(error) };
}

/** A reporter that logs the error and answers with a debug page (HTML for browsers, text otherwise). */
export function debugReporter(log: (line: string) => void): ErrorReporter {
  return (error: unknown, request: Request): Response => {
    const { title, stack } = describe(error);
    log(`Internal Server Error: ${request.method} ${request.target}\n${stack}`);
    const headerLines = [...request.headers].map(([name, value]) => `${name}: ${value}`);
    if (!(request.headers.get('accept') ?? '').includes('text/html')) {
      return {
        status: 500,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: `${title}\n\nRequest: ${request.method} ${request.target}\n\n${stack}\n\n(debug page: shown by the dev server only)\n`,
      };
    }
    const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:0}header{background:#ffc;padding:1rem 2rem;border-bottom:1px solid #dd9}
h1{font-size:1.3rem;margin:0 0 .3rem}pre{background:#f6f6f6;padding:1rem 2rem;margin:0;overflow:auto}
section{padding:1rem 2rem}table{border-collapse:collapse}td{padding:.1rem .8rem .1rem 0;vertical-align:top;font-family:monospace}</style></head>
<body><header><h1>${escape(title)}</h1><div>${escape(request.method)} ${escape(request.target)}</div></header>
<section><h2>Traceback</h2></section><pre>${escape(stack)}</pre>
<section><h2>Request headers</h2><table>${headerLines.map((l) => `<tr><td>${escape(l)}</td></tr>`).join('')}</table>
<p>You are seeing this page because you run the <strong>development server</strong>. Production hosts answer a plain 500 and log the details.</p></section>
</body></html>
`;
    return { status: 500, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
  };
}
