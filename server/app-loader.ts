/**
 * Finds the app a server should host from a spec like Gunicorn's `module:variable`:
 * `path/to/module.ts#name` hosts the export `name` (an App), and `path/to/module.ts#factory()`
 * calls the export and hosts what it returns (an App, or `{ app, close }` when the app holds
 * resources). The module path is relative to the working directory.
 */
import { pathToFileURL } from 'node:url';
import type { App } from '../app/interface.ts';
import { importableModule } from './launch.ts';

/** The default app: the demo, built by its factory. */
export const DEFAULT_APP_SPEC = 'app/demo.ts#createDemoApp()';

/** An app ready to host, and how to release it at shutdown. */
export interface HostedApp {
  app: App;
  close(): Promise<void>;
}

/** Import the module named in `spec` and produce the app it designates. */
export async function loadApp(spec: string): Promise<HostedApp> {
  const hash = spec.lastIndexOf('#');
  if (hash <= 0 || hash === spec.length - 1) {
    throw new Error(`app spec ${JSON.stringify(spec)} must look like "module.ts#export" or "module.ts#factory()"`);
  }
  const file = spec.slice(0, hash);
  let name = spec.slice(hash + 1);
  const call = name.endsWith('()');
  if (call) name = name.slice(0, -2);
  const module = (await import(pathToFileURL(importableModule(file)).href)) as Record<string, unknown>;
  const exported = module[name];
  if (exported === undefined) throw new Error(`module ${file} has no export named ${JSON.stringify(name)}`);
  if (typeof exported !== 'function') throw new Error(`export ${name} of ${file} is not a function`);
  if (!call) return { app: exported as App, close: async () => {} };
  const made = (await (exported as () => unknown)()) as unknown;
  if (typeof made === 'function') return { app: made as App, close: async () => {} };
  if (made !== null && typeof made === 'object' && typeof (made as HostedApp).app === 'function') {
    const loaded = made as Partial<HostedApp> & { app: App };
    return { app: loaded.app, close: loaded.close?.bind(loaded) ?? (async () => {}) };
  }
  throw new Error(`factory ${name}() of ${file} returned neither an app nor { app, close }`);
}
