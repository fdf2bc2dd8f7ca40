// The demo app plus routes that misbehave on purpose, for the resilience cases. Plain JavaScript
// importing the compiled demo, because the stack under test runs compiled (npm start) and loads
// only JavaScript apps from outside dist/.
//
//   GET /fault/block/?ms=N   blocks the worker's event loop for N ms (default: 10 minutes), as a
//                            runaway computation would; the pool's --timeout must kill the worker.
import { createDemoApp } from '../../dist/app/demo.js';

export async function createFaultApp() {
  const demo = await createDemoApp();
  const app = (request) => {
    if (request.path === '/fault/block/') {
      const ms = Number(request.params.get('ms') ?? 600_000) || 600_000;
      const until = Date.now() + ms;
      while (Date.now() < until) {
        // a loop the event loop cannot interrupt
      }
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'unblocked\n' };
    }
    return demo.app(request);
  };
  return { app, close: demo.close };
}
