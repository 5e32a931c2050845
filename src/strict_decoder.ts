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
  readonly #lenient: TextDecoder;
  readonly #fatal: TextDecoder;

  /** @param encoding Any label `TextDecoder` accepts. */
  constructor(encoding: string) {
    this.#lenient = new TextDecoder(encoding, { ignoreBOM: true });
    this.#fatal = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  }

  /** Decodes `bytes` (whole characters); throws `TypeError` for invalid bytes. */
  decode(bytes: Uint8Array): string {
    const text = this.#lenient.decode(bytes);
    return text.includes("\ufffd") ? this.#fatal.decode(bytes) : text;
  }
}
