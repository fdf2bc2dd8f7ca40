/**
 * Starting Nginx as a peer: render one of the templates next to it into the run folder and give
 * the command that runs it in the foreground (daemon off), so the bench owns its process group.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Render `template` (a file next to this one) with `vars` into `runDir`; returns nginx's argv. */
export function nginxCommand(template: 'nginx-static.conf.tmpl' | 'nginx-proxy.conf.tmpl', runDir: string, vars: Record<string, string | number>): string[] {
  const text = readFileSync(new URL(`./${template}`, import.meta.url), 'utf8');
  const all: Record<string, string | number> = { RUN: runDir, ...vars };
  const conf = text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in all)) throw new Error(`no value for {{${key}}} in ${template}`);
    return String(all[key]);
  });
  for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(runDir, 'tmp', dir), { recursive: true });
  const confFile = join(runDir, 'nginx.conf');
  writeFileSync(confFile, conf);
  return ['nginx', '-p', runDir, '-e', join(runDir, 'error.log'), '-c', confFile];
}
