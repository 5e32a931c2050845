/**
 * Argument checks shared by the public classes. Each throws a `TypeError` for a
 * value of the wrong type and a `RangeError` for a number out of range, naming the
 * argument and the value.
 *
 * @module
 */

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return Object.prototype.toString.call(value);
}

/** Checks a byte offset or length: an integer from 0 to `Number.MAX_SAFE_INTEGER`. */
export function checkNonNegative(name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${show(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `${name} must be a non-negative integer, got ${show(value)}`,
    );
  }
  return value;
}

/** Checks a read size: a non-negative integer, or -1 for "to the end of the file". */
export function checkSize(name: string, value: unknown): number {
  if (value === -1) return -1;
  if (typeof value === "number" && value < 0 && Number.isInteger(value)) {
    throw new RangeError(
      `${name} must be a non-negative integer or -1 (to the end), got ${
        show(value)
      }`,
    );
  }
  return checkNonNegative(name, value);
}

/** Checks a positive integer option such as `maxRequests` or `chunkSize`. */
export function checkPositive(name: string, value: unknown): number {
  const n = checkNonNegative(name, value);
  if (n === 0) throw new RangeError(`${name} must be at least 1, got 0`);
  return n;
}

/**
 * Views binary data as bytes: a `Uint8Array` as it is, any other
 * `ArrayBufferView` or `ArrayBuffer` as a `Uint8Array` over the same memory.
 */
export function asBytes(name: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(
    `${name} must be a Uint8Array (binary data), got ${show(value)}`,
  );
}

/** Describes a value for an error message. */
export { show as describeValue };
