/**
 * Strict decoding at the speed of lenient decoding.
 *
 * @module
 */

/**
 * Decodes text strictly: bytes that are not valid in the encoding throw a
 * `TypeError`, as a `TextDecoder` with `fatal: true` would. A fatal decoder is
 * several times slower than a lenient one in Deno, so this decodes leniently
 * and asks the fatal decoder only when the result holds U+FFFD (a replacement
 * for invalid bytes, or a genuine U+FFFD in the file).
 */
export class StrictDecoder {
  /** The canonical encoding name, for example `"utf-8"`. */
  readonly encoding: string;
  readonly #lenient: TextDecoder;
  readonly #fatal: TextDecoder;

  /**
   * @param encoding Any label `TextDecoder` accepts.
   * @throws {RangeError} for a label `TextDecoder` does not know.
   */
  constructor(encoding: string) {
    this.#lenient = new TextDecoder(encoding, { ignoreBOM: true });
    this.#fatal = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
    this.encoding = this.#fatal.encoding;
  }

  /** Decodes `bytes` (whole characters); throws `TypeError` for invalid bytes. */
  decode(bytes: Uint8Array): string {
    const text = this.#lenient.decode(bytes);
    return text.includes("\ufffd") ? this.#fatal.decode(bytes) : text;
  }

  /**
   * Decodes `bytes`, found at `offset` in the file `name`; throws a `TypeError`
   * that says where when they are not valid text.
   */
  decodeAt(bytes: Uint8Array, name: string, offset: number): string {
    try {
      return this.decode(bytes);
    } catch {
      throw new TypeError(
        `Bytes ${offset} to ${
          offset + bytes.length
        } of '${name}' are not valid ${this.encoding}: a character is invalid or cut`,
      );
    }
  }
}
