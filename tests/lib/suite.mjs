// One fixture (a stack, a lab, a mock) for the tests of a describe() block:
// started in a before() hook, stopped in an after() hook, and stood for by
// the value returned, so that a block reads
//   const st = forSuite(() => startStack(dir));
// instead of a `let`, a before() and an after() of its own.
import { after, before } from 'node:test';

/**
 * Registers the two hooks in the block being described. Returns a stand-in
 * that forwards every property read to what start() resolved to; reading
 * one before the hook has run is a test bug and throws. stop(fixture) ends
 * the fixture (by default its close()); it is not called when start() failed.
 */
export function forSuite(start, stop = (fixture) => fixture.close()) {
  let fixture = null;
  before(async () => { fixture = await start(); });
  after(async () => { if (fixture) await stop(fixture); });
  return new Proxy({}, {
    get(_, key) {
      if (!fixture) throw new Error(`read .${String(key)} of a suite's fixture before its before() hook started it`);
      return fixture[key];
    },
  });
}
