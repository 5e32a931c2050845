/**
 * Where characters begin and end in the bytes of a text encoding, so that byte
 * ranges can be cut at character boundaries without decoding them.
 *
 * Streaming text (readers, line readers, the text file wrapper) supports UTF-8,
 * UTF-16LE, UTF-16BE and every single-byte encoding `TextDecoder` knows. The
 * legacy multi-byte encodings (Shift_JIS, EUC-JP, ISO-2022-JP, EUC-KR, GBK,
 * GB18030, Big5) have no cheap boundary test; for them, read bytes and pipe them
 * through a `TextDecoderStream`.
 *
 * @module
 */

/** Character boundaries in the bytes of one encoding. */
export interface TextLayout {
  /** The canonical encoding name, for example `"utf-8"`. */
  readonly encoding: string;
  /** Bytes per code unit: 2 for UTF-16, else 1. A separator matches only at a multiple of it. */
  readonly unit: 1 | 2;
  /**
   * The end of the last whole character in `bytes[from, to)`, given that a
   * character starts at `from`: `to` when the range does not cut a character.
   */
  completeEnd(bytes: Uint8Array, from: number, to: number): number;
  /**
   * The number of bytes of the character that starts at `at`, as far as the
   * bytes present tell (at least 1).
   */
  charLength(bytes: Uint8Array, at: number, to: number): number;
  /**
   * The index right after `count` characters (code points) from `from`, or -1
   * when `bytes[from, to)` holds fewer whole characters.
   */
  charsEnd(bytes: Uint8Array, from: number, to: number, count: number): number;
  /**
   * {@linkcode charsEnd} for bytes that grow between calls: it carries on from
   * where the last call with the same `progress` stopped (start with
   * `{ at: from, seen: 0 }`) and updates it, so each byte is looked at once
   * however many calls it takes. Between calls only `to` may change (grow):
   * `from` and the bytes before the last `to` stay as they were.
   */
  resumeCharsEnd(
    bytes: Uint8Array,
    from: number,
    to: number,
    count: number,
    progress: CharProgress,
  ): number;
  /** How many characters start in `bytes[from, to)`. */
  countChars(bytes: Uint8Array, from: number, to: number): number;
  /** The number of bytes `text` takes in this encoding. */
  byteLength(text: string): number;
  /** Encodes a separator; throws `TypeError` if a character has no encoding. */
  encode(text: string): Uint8Array;
}

/**
 * How far {@linkcode TextLayout.resumeCharsEnd} got: `seen` characters were
 * counted before byte `at` (in UTF-8, the last of them may still lack bytes).
 */
export interface CharProgress {
  /** The byte where counting carries on. */
  at: number;
  /** The characters counted before `at`. */
  seen: number;
}

const MULTI_BYTE_LEGACY = new Set([
  "shift_jis",
  "euc-jp",
  "iso-2022-jp",
  "euc-kr",
  "gbk",
  "gb18030",
  "big5",
]);

const layouts = new Map<string, TextLayout>();

/**
 * The layout of an encoding (a canonical name, as `TextDecoder.encoding` gives).
 *
 * @throws {TypeError} for the legacy multi-byte encodings, which streaming text
 * does not support.
 */
export function textLayout(encoding: string): TextLayout {
  let layout = layouts.get(encoding);
  if (layout === undefined) {
    if (MULTI_BYTE_LEGACY.has(encoding)) {
      throw new TypeError(
        `Encoding "${encoding}" cannot be streamed as text: readers and text wrappers support UTF-8, UTF-16 and single-byte encodings. Open the file in binary mode and pipe it through a TextDecoderStream`,
      );
    }
    layout = encoding === "utf-8"
      ? utf8
      : encoding === "utf-16le"
      ? utf16(true)
      : encoding === "utf-16be"
      ? utf16(false)
      : singleByte(encoding);
    layouts.set(encoding, layout);
  }
  return layout;
}

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

function utf8Length(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

const encoder = new TextEncoder();

const utf8: TextLayout = {
  encoding: "utf-8",
  unit: 1,
  completeEnd(bytes, from, to) {
    // Find the lead byte of the last character (at most 3 continuation bytes back).
    let lead = to - 1;
    while (lead > from && lead > to - 4 && isContinuation(bytes[lead])) lead--;
    if (lead < from || isContinuation(bytes[lead])) return to;
    return lead + utf8Length(bytes[lead]) > to ? lead : to;
  },
  charLength(bytes, at) {
    return utf8Length(bytes[at]);
  },
  charsEnd(bytes, from, to, count) {
    return utf8.resumeCharsEnd(bytes, from, to, count, { at: from, seen: 0 });
  },
  resumeCharsEnd(bytes, from, to, count, progress) {
    let seen = progress.seen;
    let i = progress.at;
    for (; i < to; i++) {
      if (!isContinuation(bytes[i])) {
        if (seen === count) break;
        seen++;
      }
    }
    progress.at = i;
    progress.seen = seen;
    if (i < to) return i;
    if (seen < count) return -1;
    // `count` characters seen: the last one must be whole.
    return utf8.completeEnd(bytes, from, to) === to ? to : -1;
  },
  countChars(bytes, from, to) {
    let count = 0;
    for (let i = from; i < to; i++) if (!isContinuation(bytes[i])) count++;
    return count;
  },
  byteLength(text) {
    let bytes = text.length;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      // 2 bytes below U+0800, 3 above; a surrogate pair (2 units) takes 4.
      if (unit >= 0x80) {
        bytes += unit < 0x800 || (unit >= 0xd800 && unit <= 0xdfff) ? 1 : 2;
      }
    }
    return bytes;
  },
  encode: (text) => encoder.encode(text),
};

function utf16(littleEndian: boolean): TextLayout {
  const unitAt = littleEndian
    ? (bytes: Uint8Array, i: number) => bytes[i] | (bytes[i + 1] << 8)
    : (bytes: Uint8Array, i: number) => (bytes[i] << 8) | bytes[i + 1];
  const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
  const layout: TextLayout = {
    encoding: littleEndian ? "utf-16le" : "utf-16be",
    unit: 2,
    completeEnd(bytes, from, to) {
      let end = from + ((to - from) & ~1);
      if (end - from >= 2 && isHigh(unitAt(bytes, end - 2))) end -= 2;
      return end;
    },
    charLength(bytes, at, to) {
      return at + 2 <= to && isHigh(unitAt(bytes, at)) ? 4 : 2;
    },
    charsEnd(bytes, from, to, count) {
      return layout.resumeCharsEnd(bytes, from, to, count, {
        at: from,
        seen: 0,
      });
    },
    resumeCharsEnd(bytes, _from, to, count, progress) {
      let i = progress.at;
      let seen = progress.seen;
      for (; seen < count; seen++) {
        const length = i + 2 <= to && isHigh(unitAt(bytes, i)) ? 4 : 2;
        if (i + length > to) break;
        i += length;
      }
      progress.at = i;
      progress.seen = seen;
      return seen === count ? i : -1;
    },
    countChars(bytes, from, to) {
      let count = 0;
      for (let i = from; i + 1 < to; i += 2) {
        const unit = unitAt(bytes, i);
        if (unit < 0xdc00 || unit > 0xdfff) count++;
      }
      return count;
    },
    byteLength: (text) => text.length * 2,
    encode(text) {
      const bytes = new Uint8Array(text.length * 2);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < text.length; i++) {
        view.setUint16(i * 2, text.charCodeAt(i), littleEndian);
      }
      return bytes;
    },
  };
  return layout;
}

function singleByte(encoding: string): TextLayout {
  // Every byte is one character: map each character back to its byte.
  const decoder = new TextDecoder(encoding);
  const byteOf = new Map<string, number>();
  for (let byte = 255; byte >= 0; byte--) {
    byteOf.set(decoder.decode(new Uint8Array([byte])), byte);
  }
  return {
    encoding,
    unit: 1,
    completeEnd: (_bytes, _from, to) => to,
    charLength: () => 1,
    charsEnd: (_bytes, from, to, count) =>
      from + count <= to ? from + count : -1,
    resumeCharsEnd(_bytes, from, to, count, progress) {
      progress.at = Math.min(to, from + count);
      progress.seen = progress.at - from;
      return from + count <= to ? from + count : -1;
    },
    countChars: (_bytes, from, to) => to - from,
    byteLength: (text) => text.length,
    encode(text) {
      return Uint8Array.from(text, (char) => {
        const byte = byteOf.get(char);
        if (byte === undefined) {
          throw new TypeError(
            `${JSON.stringify(char)} cannot be written in ${encoding}`,
          );
        }
        return byte;
      });
    },
  };
}
