/**
 * Permission checks made before a file is opened, so that nothing ever prompts
 * and no backend reaches a file outside Deno's sandbox.
 *
 * @module
 */

import type { OpenFlags } from "../impl/backend.ts";

function require(name: "read" | "write", path: string): void {
  const { state } = Deno.permissions.querySync({ name, path });
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires ${name} access to "${path}", run again with the --allow-${name} flag`,
    );
  }
}

/**
 * Throws Deno's own `NotCapable` error unless the access a mode needs is granted
 * for `path`. Checks with `querySync`, so it never prompts.
 */
export function requireAccess(path: string, flags: OpenFlags): void {
  if (flags.read) require("read", path);
  if (flags.write || flags.append || flags.create) require("write", path);
}
