/** Middleware composition: compose(a, b, c)(app) is a(b(c(app))), so `a` sees the request first. */
import type { App, Middleware } from './interface.ts';

/** Combine middleware into one; the first listed is the outermost. */
export function compose(...middleware: Middleware[]): Middleware {
  return (app: App) => middleware.reduceRight<App>((next, wrap) => wrap(next), app);
}
