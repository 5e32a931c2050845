/**
 * `Semaphore`: at most `limit` tasks at once, the others in call order; a task
 * that throws or rejects gives its turn back; an aborted wait leaves the line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Semaphore } from "../impl/shared/semaphore.ts";

/** A promise with its resolve, for tasks that end when a test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}

Deno.test("Semaphore: at most limit tasks run at once, the rest in call order", async () => {
  const semaphore = new Semaphore(2);
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, gate);
  const runs = gates.map((g, i) =>
    semaphore.run(async () => {
      started.push(i);
      await g.opened;
      return i;
    })
  );
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  assert.equal(semaphore.waiting, 3);
  assert.ok(semaphore.busy);
  gates[1].open();
  await runs[1];
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(started, [0, 1, 2]);
  gates.forEach((g) => g.open());
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(semaphore.busy, false);
});

Deno.test("Semaphore: a task that throws or rejects gives its turn back", async () => {
  const semaphore = new Semaphore(1);
  await assert.rejects(
    semaphore.run(() => {
      throw new Error("at once");
    }),
    /at once/,
  );
  await assert.rejects(
    semaphore.run(() => Promise.reject(new Error("later"))),
    /later/,
  );
  assert.equal(await semaphore.run(() => Promise.resolve(7)), 7);
  assert.equal(semaphore.busy, false);
});

Deno.test("Semaphore: tryTake takes a free turn only when nobody waits; give returns it", async () => {
  const semaphore = new Semaphore(1);
  assert.ok(semaphore.tryTake());
  assert.equal(semaphore.tryTake(), false);
  let ran = false;
  const waiting = semaphore.run(() => Promise.resolve(ran = true));
  assert.equal(ran, false);
  semaphore.give(); // the turn passes to the waiting task
  await waiting;
  assert.ok(ran);
  assert.ok(semaphore.tryTake());
  semaphore.give();
  assert.equal(semaphore.busy, false);
});

Deno.test("Semaphore: an aborted signal rejects at once with its reason and runs nothing", async () => {
  const semaphore = new Semaphore(1);
  let ran = false;
  const reason = new Error("stop");
  await assert.rejects(
    semaphore.run(() => Promise.resolve(ran = true), AbortSignal.abort(reason)),
    (e) => e === reason,
  );
  assert.equal(ran, false);
  assert.equal(semaphore.busy, false);
});

Deno.test("Semaphore: a wait aborted leaves the line; the others keep their order", async () => {
  const semaphore = new Semaphore(1);
  const first = gate();
  const order: string[] = [];
  const running = semaphore.run(() => first.opened.then(() => order.push("a")));
  const controller = new AbortController();
  const aborted = semaphore.run(
    () => Promise.resolve(order.push("b")),
    controller.signal,
  );
  const third = semaphore.run(() => Promise.resolve(order.push("c")));
  assert.equal(semaphore.waiting, 2);
  controller.abort();
  await assert.rejects(
    aborted,
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
  assert.equal(semaphore.waiting, 1);
  first.open();
  await Promise.all([running, third]);
  assert.deepEqual(order, ["a", "c"]);
  assert.equal(semaphore.busy, false);
  // Aborting once the task has its turn changes nothing.
  controller.abort();
});

Deno.test("Semaphore: one signal for many waits adds one listener, whatever their number", async () => {
  const semaphore = new Semaphore(1);
  const controller = new AbortController();
  let listeners = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  const remove = controller.signal.removeEventListener.bind(controller.signal);
  controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  }) as typeof add;
  controller.signal.removeEventListener =
    ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof remove;
  const first = gate();
  const running = semaphore.run(() => first.opened);
  const runs = Array.from(
    { length: 100 },
    () => semaphore.run(() => Promise.resolve(), controller.signal),
  );
  assert.equal(listeners, 1);
  first.open();
  await Promise.all([running, ...runs]);
  assert.ok(listeners <= 1);
});
