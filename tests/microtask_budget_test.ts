/**
 * `MicrotaskBudget`: a streak of microtasks may run for its budget, and starts
 * again once the event loop has turned.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MicrotaskBudget,
  TIMER_AFTER_STREAKS,
} from "../impl/ring/microtask_budget.ts";

function spin(ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms) {
    // busy, as a long run of microtasks would be
  }
}

Deno.test("a streak may go on within its budget, not past it", () => {
  const budget = new MicrotaskBudget(5);
  assert.equal(budget.mayContinue(), true); // starts the streak
  assert.equal(budget.mayContinue(), true);
  spin(10);
  assert.equal(budget.mayContinue(), false);
  assert.equal(budget.mayContinue(), false);
  budget.turned();
  assert.equal(budget.mayContinue(), true);
});

Deno.test("a turn of the event loop ends the streak, with no call to turned()", async () => {
  const budget = new MicrotaskBudget(5, 0); // every streak watches with a timer
  assert.equal(budget.mayContinue(), true);
  spin(10);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(budget.mayContinue(), true); // an idle spell is no streak
});

Deno.test("microtasks alone do not end the streak", async () => {
  const budget = new MicrotaskBudget(5);
  assert.equal(budget.mayContinue(), true);
  spin(10);
  for (let i = 0; i < 100; i++) await Promise.resolve();
  assert.equal(budget.mayContinue(), false);
});

Deno.test(`the first ${TIMER_AFTER_STREAKS} streaks set no timer (Deno loads its timers on first use)`, () => {
  const original = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof original>) => {
    timers++;
    return original(...args);
  }) as typeof original;
  try {
    const budget = new MicrotaskBudget(5);
    for (let streak = 0; streak < TIMER_AFTER_STREAKS; streak++) {
      assert.equal(budget.mayContinue(), true);
      budget.turned();
    }
    assert.equal(timers, 0);
    assert.equal(budget.mayContinue(), true); // the next streak sets one
    assert.equal(timers, 1);
  } finally {
    globalThis.setTimeout = original;
  }
});
