/**
 * The stack's supervisor (stack/layer.ts) against shutdown races: a layer that dies is restarted,
 * but once stop() is called nothing may start it again — not the restart that stop() interrupted
 * (its SIGTERM makes the new child exit during start-up, which looks like a failed restart), and
 * not a restart still waiting out its back-off.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Layer } from '../../stack/layer.ts';
import { alive, killedAtEnd } from '../fixtures/pids.ts';

/** Every child a test's layer started, killed at the end whatever happened. */
const started = killedAtEnd();

/** A layer running an idle Node process; `ready` answers at once the first time, then as `later` says. */
function idleLayer(later: () => Promise<void>, log: string[]): { layer: Layer; starts: () => number } {
  let starts = 0;
  const layer: Layer = new Layer(
    {
      name: 'idle',
      command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
      ready: () => {
        starts++;
        if (layer.pid !== undefined) started.add(layer.pid);
        return starts === 1 ? Promise.resolve() : later();
      },
      readyTimeoutMs: 20_000,
    },
    (line) => log.push(line),
  );
  return { layer, starts: () => starts };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('stack supervisor during shutdown (defect 5)', () => {
  it('a restart interrupted by stop() is not retried, and no new layer is left running', async () => {
    const log: string[] = [];
    const { layer, starts } = idleLayer(() => new Promise(() => {}), log);
    after(() => layer.stop(0));
    await layer.start();
    const first = layer.pid!;
    process.kill(first, 'SIGKILL');
    // The supervisor restarts it after its back-off; the new child never answers, so stop()
    // finds the restart in the middle of its start-up.
    await waitFor(() => starts() === 2, 10_000, 'the restart');
    const second = layer.pid!;
    assert.notEqual(second, first);
    await layer.stop(5000);
    assert.equal(alive(second), false, 'stop() ended the layer it interrupted');
    // Longer than the next back-off (500 ms) with room for a busy machine.
    await sleep(2000);
    assert.equal(starts(), 2, `nothing started after stop(); supervisor said:\n${log.join('\n')}`);
    for (const pid of started) assert.equal(alive(pid), false, `process ${pid} left running`);
  });

  it('a restart still waiting out its back-off does not happen after stop()', async () => {
    const log: string[] = [];
    const { layer, starts } = idleLayer(() => Promise.resolve(), log);
    after(() => layer.stop(0));
    await layer.start();
    process.kill(layer.pid!, 'SIGKILL');
    await waitFor(() => log.some((line) => line.includes('restarting in')), 10_000, 'the supervisor to notice the death');
    await layer.stop(5000);
    await sleep(1500);
    assert.equal(starts(), 1, `nothing started after stop(); supervisor said:\n${log.join('\n')}`);
  });
});
