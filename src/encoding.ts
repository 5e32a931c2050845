/**
 * Text encodings: any label `TextDecoder` knows for reading; UTF-8 and UTF-16LE
 * for writing.
 *
 * @module
 */

import { StrictDecoder } from "./strict_decoder.ts";

const encoder = new TextEncoder();

/** Encodes and decodes the text of one file. */
export interface TextCodec {
  /** The canonical name, for example `"utf-8"`. */
  readonly encoding: string;
  /**
   * Decodes bytes found at `offset` in the file `name`; throws a `TypeError`
   * that says where if they are not valid (a character invalid or cut).
   */
  decodeAt(bytes: Uint8Array, name: string, offset: number): string;
  /** Encodes text; only for the encodings that can be written. */
  encode(text: string): Uint8Array;
}

/**
 * Resolves an encoding label for a file.
 *
 * @param label Any label `TextDecoder` accepts (`"utf8"`, `"latin1"`, ...).
 * @param writable Whether the file will be written; only `utf-8` and `utf-16le`
 * can be written.
 * @throws {TypeError} for an unknown label, or one that cannot be written.
 */
export function textCodec(label: string, writable: boolean): TextCodec {
  if (typeof label !== "string") {
    throw new TypeError(`encoding must be a string, got ${typeof label}`);
  }
  let strict: StrictDecoder;
  try {
    strict = new StrictDecoder(label);
  } catch {
    throw new TypeError(`Unknown encoding ${JSON.stringify(label)}`);
  }
  const encoding = strict.encoding;
  const encode = encoding === "utf-8"
    ? (text: string) => encoder.encode(text)
    : encoding === "utf-16le"
    ? encodeUtf16le
    : undefined;
  if (writable && encode === undefined) {
    throw new TypeError(
      `Encoding ${
        JSON.stringify(label)
      } cannot be written: writable text files support "utf-8" and "utf-16le"`,
    );
  }
  return {
    encoding,
    decodeAt: (bytes, name, offset) => strict.decodeAt(bytes, name, offset),
    encode: encode ?? (() => {
      throw new TypeError(`Encoding "${encoding}" cannot be written`);
    }),
  };
}

function encodeUtf16le(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < text.length; i++) {
    view.setUint16(i * 2, text.charCodeAt(i), true);
  }
  return bytes;
}
