/**
 * Mapping an io_uring's memory: the SQ and CQ rings (one mapping with
 * `IORING_FEAT_SINGLE_MMAP`) and the SQE array, read and written through typed
 * arrays over the mapped memory. Shared by the backend's ring (`uring.ts`) and
 * the small ring that relays its completions to the event loop
 * (`uring_relay.ts`).
 *
 * @module
 */

import {
  CQE,
  IORING_FEAT_SINGLE_MMAP,
  IORING_OFF,
  PARAMS,
  RING_OFFSET,
  SQE,
  type UringCalls,
} from "../ffi/uring.ts";
import { errorFromErrno } from "./shared/errors.ts";

/** A ring's mapped memory, gone once unmapped. */
export interface Rings {
  readonly fd: number;
  /** The SQ ring's words (head, tail, mask, array, ...). */
  readonly sq: Uint32Array;
  /** The CQ ring's words and bytes (the CQEs). */
  readonly cq: Uint32Array;
  readonly cqBytes: DataView;
  readonly sqes: DataView;
  readonly sqHead: number;
  readonly sqTail: number;
  readonly sqMask: number;
  readonly sqArray: number;
  readonly cqHead: number;
  readonly cqTail: number;
  readonly cqMask: number;
  readonly cqes: number;
  readonly unmap: () => void;
}

/**
 * A submission calls `io_uring_enter` again while the kernel refuses for a
 * moment (`EINTR`, `EAGAIN`, `EBUSY`: the SQEs stay in the ring), up to this
 * many calls in all. Past it, a refusal ends the submission: the backend's
 * ring reports it (`uring.ts`), the relay's ring hands over to the pool wake
 * (`uring_relay.ts`). A kernel that keeps refusing cannot hold the JavaScript
 * thread for good.
 */
export const ENTER_ATTEMPTS_MAX = 1000;

/** The symbolic name of an errno (`EPERM`), for messages. */
export function errnoName(errno: number): string {
  return (errorFromErrno(errno, "io_uring_setup") as Error & { code: string })
    .code;
}

/**
 * Maps the rings of `fd`, set up with `params`: the mapped rings, or why they
 * could not be mapped (nothing stays mapped then).
 */
export function mapRings(
  calls: UringCalls,
  fd: number,
  params: Uint8Array,
): Rings | string {
  const p = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const word = (at: number) => p.getUint32(at, true);
  const sqOff = (i: number) => word(PARAMS.sqOff + 4 * i);
  const cqOff = (i: number) => word(PARAMS.cqOff + 4 * i);
  const sqEntries = word(PARAMS.sqEntries);
  const cqEntries = word(PARAMS.cqEntries);
  const sqSize = sqOff(RING_OFFSET.sqArray) + sqEntries * 4;
  const cqSize = cqOff(RING_OFFSET.cqes) + cqEntries * CQE.SIZE;
  const single = (word(PARAMS.features) & IORING_FEAT_SINGLE_MMAP) !== 0;
  const unmaps: (() => void)[] = [];
  const map = (length: number, offset: bigint) => {
    const mapped = calls.map(fd, length, offset);
    if (typeof mapped === "number") return mapped;
    unmaps.push(mapped.unmap);
    return mapped.buffer;
  };
  const release = () => unmaps.forEach((unmap) => unmap());
  const sqRing = map(
    single ? Math.max(sqSize, cqSize) : sqSize,
    IORING_OFF.SQ_RING,
  );
  const cqRing = single ? sqRing : map(cqSize, IORING_OFF.CQ_RING);
  const sqes = map(sqEntries * SQE.SIZE, IORING_OFF.SQES);
  if (
    typeof sqRing === "number" || typeof cqRing === "number" ||
    typeof sqes === "number"
  ) {
    release();
    const errno = [sqRing, cqRing, sqes].find((m) => typeof m === "number");
    return `mapping the rings failed: ${errnoName(-(errno as number))}`;
  }
  const sq = new Uint32Array(sqRing);
  const cq = new Uint32Array(cqRing);
  return {
    fd,
    sq,
    cq,
    cqBytes: new DataView(cqRing),
    sqes: new DataView(sqes),
    sqHead: sqOff(RING_OFFSET.head) / 4,
    sqTail: sqOff(RING_OFFSET.tail) / 4,
    sqMask: sq[sqOff(RING_OFFSET.ringMask) / 4],
    sqArray: sqOff(RING_OFFSET.sqArray) / 4,
    cqHead: cqOff(RING_OFFSET.head) / 4,
    cqTail: cqOff(RING_OFFSET.tail) / 4,
    cqMask: cq[cqOff(RING_OFFSET.ringMask) / 4],
    cqes: cqOff(RING_OFFSET.cqes),
    unmap: release,
  };
}
