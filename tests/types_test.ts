/**
 * The data types follow the mode literal. These assignments are checked by
 * `deno test` (type checking fails if a type is wrong); the test also checks the
 * run-time types agree.
 */

import assert from "node:assert/strict";
import {
  AIOFile,
  asyncOpen,
  type BinaryFileWrapper,
  type DataOf,
  type TextFileWrapper,
} from "../mod.ts";
import { withTempDir } from "./backends.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
const typeIs = <T extends true>(_check?: T) => {};

typeIs<Equal<DataOf<"rb">, Uint8Array>>();
typeIs<Equal<DataOf<"r+b">, Uint8Array>>();
typeIs<Equal<DataOf<"w">, string>>();
typeIs<Equal<DataOf<"a+">, string>>();
typeIs<Equal<DataOf<string>, string | Uint8Array>>();

// The wrapper's file keeps the mode literal.
type FileOf<T> = T extends { readonly file: infer F } ? F : never;
typeIs<
  Equal<FileOf<Awaited<ReturnType<typeof asyncOpen<"rb">>>>, AIOFile<"rb">>
>();
typeIs<
  Equal<FileOf<Awaited<ReturnType<typeof asyncOpen<"a+">>>>, AIOFile<"a+">>
>();
typeIs<Equal<FileOf<BinaryFileWrapper>, AIOFile<"rb">>>();
typeIs<Equal<FileOf<TextFileWrapper>, AIOFile<"r">>>();
// seek returns a number from the start or here, a promise from the end.
export function seekTypes(afp: TextFileWrapper): Promise<number> {
  const fromStart: number = afp.seek(1);
  const fromHere: number = afp.seek(1, 1);
  return afp.seek(-1, 2).then((fromEnd) => fromStart + fromHere + fromEnd);
}

Deno.test("result types follow the mode literal", async () => {
  await withTempDir(async (dir) => {
    await using binary = await AIOFile.open(`${dir}/b`, "w+b");
    const bytes: Uint8Array = await binary.read();
    await binary.write(new Uint8Array([1]));
    // @ts-expect-error: a binary file takes bytes, not text
    await assert.rejects(() => binary.write("text"), TypeError);
    assert.ok(bytes instanceof Uint8Array);

    await using text = await AIOFile.open(`${dir}/t`, "w+");
    await text.write("text");
    const str: string = await text.read();
    // @ts-expect-error: a text file takes text, not bytes
    await assert.rejects(() => text.write(new Uint8Array([1])), TypeError);
    assert.equal(str, "text");

    const plain = new AIOFile(`${dir}/t`);
    const fromDefault: Promise<string> = plain.read().catch(() => "");
    assert.equal(await fromDefault, ""); // never opened: rejects
  });
});

Deno.test("asyncOpen: the wrapper's file is typed by the mode", async () => {
  await withTempDir(async (dir) => {
    await using afp = await asyncOpen(`${dir}/b`, "w+b");
    const file: AIOFile<"w+b"> = afp.file;
    await file.write(new Uint8Array([1, 2]));
    assert.deepEqual(await file.read(), new Uint8Array([1, 2]));
  });
});
