/**
 * `RequestTable`: the slots of a kernel queue. A slot is taken per request and
 * given back at its completion; requests beyond the slots wait, in order.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RequestTable, type RingRequest } from "../impl/ring/requests.ts";

function request(path: string): RingRequest {
  return {
    op: "read",
    path,
    alignment: 1,
    buffer: undefined,
    resolve: () => {},
    reject: () => {},
    slot: 0,
    signal: undefined,
    forget: undefined,
  };
}

Deno.test("RequestTable: each slot is taken once until it is released", () => {
  const table = new RequestTable(3);
  const slots = [table.take(), table.take(), table.take()];
  assert.deepEqual(slots.toSorted(), [0, 1, 2]);
  assert.equal(table.take(), undefined);
  table.put(slots[1]!, request("b"));
  assert.equal(table.release(slots[1]!).path, "b");
  assert.equal(table.take(), slots[1]);
});

Deno.test("RequestTable: a released slot wakes the first waiter, one per release", async () => {
  const table = new RequestTable(1);
  const slot = table.take()!;
  table.put(slot, request("a"));
  const woken: number[] = [];
  const waits = [1, 2].map((n) =>
    table.waitForSlot().then(() => woken.push(n))
  );
  table.release(slot);
  await waits[0];
  assert.deepEqual(woken, [1]);
  table.releaseWaiters(); // closing: everyone waiting is woken (then refused)
  await waits[1];
  assert.deepEqual(woken, [1, 2]);
});
