/**
 * Support for the fault tests (`faults_*_test.ts`): children that talk a line
 * at a time, small file systems mounted for one test, kernel settings changed
 * for as short a time as possible, and byte patterns that show misplaced data.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TIMEOUT_MS } from "./subprocess.ts";

/** The byte a fault test writes at `offset` of a file: never 0. */
export function patternByte(offset: number, seed = 0): number {
  return ((offset * 31 + (offset >>> 12) + seed) % 255) + 1;
}

/** `length` bytes of the pattern from `offset`. */
export function pattern(offset: number, length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = patternByte(offset + i, seed);
  return bytes;
}

/** The first offset in `[from, to)` where `bytes` differ from the pattern. */
export function firstMismatch(
  bytes: Uint8Array,
  from: number,
  to: number,
  seed = 0,
): number | undefined {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== patternByte(i, seed)) return i;
  }
  return undefined;
}

/** Options of {@linkcode Child.spawn}. */
export interface ChildOptions {
  /** Arguments after the fixture's path. */
  args?: readonly string[];
  /** A file the child gets as its standard input (then it cannot be sent lines). */
  stdinFrom?: string;
  /** The child's descriptor limit (`ulimit -n`); Deno raises it no further. */
  fileLimit?: number;
  /** Environment variables for the child (`AIOFILE_*` are unset otherwise). */
  env?: Record<string, string>;
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(text, controller) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}

/**
 * A fixture of `tests/fixtures/` running in a fresh `deno run --no-config
 * --no-prompt` with exactly the flags given, no `AIOFILE_*` variables, killed
 * after {@linkcode TIMEOUT_MS} if it has not ended. The test reads its standard
 * output a line at a time and may send it lines on its standard input.
 */
export class Child implements AsyncDisposable {
  readonly #process: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #stderr: Promise<string>;
  readonly #timeout = AbortSignal.timeout(TIMEOUT_MS);
  readonly #seen: string[] = [];

  private constructor(
    name: string,
    flags: readonly string[],
    options: ChildOptions,
  ) {
    const env = Deno.env.toObject();
    delete env.AIOFILE_IMPL;
    delete env.AIOFILE_LIBAIO;
    env.NO_COLOR = "1";
    Object.assign(env, options.env);
    const fixture = decodeURIComponent(
      new URL(`./fixtures/${name}`, import.meta.url).pathname,
    );
    const deno = [
      Deno.execPath(),
      "run",
      "--no-config",
      "--no-prompt",
      ...flags,
      fixture,
      ...(options.args ?? []),
    ];
    const { stdinFrom, fileLimit } = options;
    const [command, ...args] =
      stdinFrom === undefined && fileLimit === undefined ? deno : [
        "sh",
        "-c",
        `${
          fileLimit === undefined ? "" : `ulimit -n ${fileLimit} && `
        }exec "$@"${stdinFrom === undefined ? "" : ' < "$0"'}`,
        stdinFrom ?? "sh",
        ...deno,
      ];
    this.#process = new Deno.Command(command, {
      args,
      env,
      clearEnv: true,
      stdin: stdinFrom === undefined ? "piped" : "inherit",
      stdout: "piped",
      stderr: "piped",
      signal: this.#timeout,
    }).spawn();
    this.#lines = this.#process.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(splitLines())
      .getReader();
    this.#stdin = stdinFrom === undefined
      ? this.#process.stdin.getWriter()
      : undefined;
    this.#stderr = new Response(this.#process.stderr).text();
  }

  /** Starts `fixtures/<name>` with `flags`. */
  static spawn(
    name: string,
    flags: readonly string[],
    options: ChildOptions = {},
  ): Child {
    return new Child(name, flags, options);
  }

  /** The child's process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /** The next line the child printed; fails (with its stderr) if it ended first. */
  async line(): Promise<string> {
    const { done, value } = await this.#lines.read();
    if (!done) {
      this.#seen.push(value);
      return value;
    }
    const status = await this.#process.status;
    assert.fail(
      `the child ended before printing a line${
        this.#timeout.aborted ? " (timed out)" : ""
      }: exit ${status.code}, signal ${status.signal}\n--- stdout\n${
        this.#seen.join("\n")
      }\n--- stderr\n${await this.#stderr}`,
    );
  }

  /** The next line, parsed as JSON. */
  // deno-lint-ignore no-explicit-any
  async json(): Promise<any> {
    const line = await this.line();
    try {
      return JSON.parse(line);
    } catch {
      assert.fail(`not JSON: ${line}\n--- stderr\n${await this.#stderr}`);
    }
  }

  /** Sends `line` (and a newline) to the child's standard input. */
  async send(line: string): Promise<void> {
    assert.ok(this.#stdin !== undefined, "this child's stdin is a file");
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Sends the child `signal`. */
  kill(signal: Deno.Signal): void {
    this.#process.kill(signal);
  }

  /** How the child ended, once it has. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#process.status;
  }

  /** Its standard error, once it has ended. */
  get stderr(): Promise<string> {
    return this.#stderr;
  }

  /** Kills the child if it still runs and waits for it and its streams. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#process.kill("SIGKILL");
    } catch {
      // It has ended already.
    }
    await this.#process.status;
    await this.#stdin?.close().catch(() => {});
    await this.#lines.cancel().catch(() => {});
    await this.#stderr;
  }
}

/** Why this process cannot run a command it needs, or `undefined`. */
function commandMissing(name: string): string | undefined {
  try {
    const { success } = new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return success ? undefined : `${name} is not installed`;
  } catch (error) {
    return `cannot run a shell: ${(error as Error).message}`;
  }
}

function runSync(command: string, args: readonly string[]): string | undefined {
  const output = new Deno.Command(command, { args: [...args], stdout: "null" })
    .outputSync();
  if (output.success) return undefined;
  const stderr = new TextDecoder().decode(output.stderr).trim();
  return `${command} ${args.join(" ")} failed: ${
    stderr || `exit ${output.code}`
  }`;
}

async function run(command: string, args: readonly string[]): Promise<void> {
  const output = await new Deno.Command(command, {
    args: [...args],
    stdout: "null",
  }).output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${
        new TextDecoder().decode(output.stderr).trim() || `exit ${output.code}`
      }`,
    );
  }
}

/** A small file system a test fills: an ext4 image on a loop device, or tmpfs. */
export type SmallFileSystem = "ext4" | "tmpfs";

/** The size of each small file system: ext4 needs room for its own metadata. */
const SIZES: Record<SmallFileSystem, string> = { ext4: "8M", tmpfs: "1m" };

async function mountSmall(kind: SmallFileSystem, base: string, dir: string) {
  if (kind === "tmpfs") {
    await run("mount", [
      "-t",
      "tmpfs",
      "-o",
      `size=${SIZES.tmpfs}`,
      "tmpfs",
      dir,
    ]);
    return;
  }
  const image = `${base}/ext4.img`;
  await run("truncate", ["-s", SIZES.ext4, image]);
  await run("mkfs.ext4", ["-q", "-F", image]);
  await run("mount", ["-o", "loop", image, dir]);
}

const mountChecks = new Map<SmallFileSystem, string | undefined>();

/**
 * Why a small file system of this kind cannot be mounted here (not root, no
 * `mkfs.ext4`, a container that forbids mounting), or `undefined` when it can:
 * tried once, synchronously, when the tests are registered.
 */
export function mountUnavailable(kind: SmallFileSystem): string | undefined {
  if (mountChecks.has(kind)) return mountChecks.get(kind);
  let reason: string | undefined;
  if (Deno.build.os !== "linux") {
    reason = `needs Linux (this is ${Deno.build.os})`;
  } else if (Deno.uid() !== 0) reason = "mounting needs root";
  else {
    reason = ["mount", "umount", "truncate"].concat(
      kind === "ext4" ? ["mkfs.ext4"] : [],
    ).map(commandMissing).find((r) => r !== undefined);
  }
  if (reason === undefined) {
    const base = Deno.makeTempDirSync({ prefix: "aiofile-mount-check-" });
    const dir = `${base}/mnt`;
    Deno.mkdirSync(dir);
    try {
      reason = kind === "tmpfs"
        ? runSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir])
        : runSync("truncate", ["-s", SIZES.ext4, `${base}/ext4.img`]) ??
          runSync("mkfs.ext4", ["-q", "-F", `${base}/ext4.img`]) ??
          runSync("mount", ["-o", "loop", `${base}/ext4.img`, dir]);
      if (reason === undefined) runSync("umount", [dir]);
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  }
  mountChecks.set(kind, reason);
  return reason;
}

/**
 * Mounts a small file system of `kind` on a fresh directory for `use`, which may
 * unmount it itself (`unmount` fails while a descriptor is open on it); it is
 * unmounted in the end in any case, and its directory removed.
 */
export async function withSmallFileSystem<T>(
  kind: SmallFileSystem,
  use: (dir: string, unmount: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const base = await Deno.makeTempDir({ prefix: `aiofile-${kind}-` });
  const dir = `${base}/mnt`;
  let mounted = false;
  const unmount = async () => {
    await run("umount", [dir]);
    mounted = false;
  };
  try {
    await Deno.mkdir(dir);
    await mountSmall(kind, base, dir);
    mounted = true;
    return await use(dir, unmount);
  } finally {
    // Lazily, if a test failed with a descriptor still open on it.
    if (mounted) await run("umount", ["-l", dir]);
    await Deno.remove(base, { recursive: true });
  }
}

/** The file of a kernel setting, `fs.aio-max-nr` as `/proc/sys/fs/aio-max-nr`. */
function sysctlPath(key: string): string {
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}

/** Why this process cannot change the kernel setting `key`, or `undefined`. */
export function sysctlUnavailable(key: string): string | undefined {
  if (Deno.build.os !== "linux") {
    return `needs Linux (this is ${Deno.build.os})`;
  }
  if (Deno.uid() !== 0) return `changing ${key} needs root`;
  try {
    Deno.openSync(sysctlPath(key), { write: true }).close();
    return undefined;
  } catch (error) {
    return error instanceof Deno.errors.NotFound
      ? `this kernel has no ${key}`
      : `${key} cannot be changed here: ${(error as Error).message}`;
  }
}

/** The value of the kernel setting `key`. */
export function readSysctl(key: string): string {
  return Deno.readTextFileSync(sysctlPath(key)).trim();
}

/** Sets the kernel setting `key` to `value`. */
export function writeSysctl(key: string, value: string): void {
  Deno.writeTextFileSync(sysctlPath(key), `${value}\n`);
}

/**
 * Sets the kernel setting `key` to `value` for `use` only, and restores it
 * afterwards. The setting is global: keep `use` as short as possible (start the
 * child first, and let it wait for a line before it does the part that needs it).
 */
export async function withSysctl<T>(
  key: string,
  value: string,
  use: () => Promise<T>,
): Promise<T> {
  const old = readSysctl(key);
  try {
    writeSysctl(key, value);
    return await use();
  } finally {
    writeSysctl(key, old);
  }
}

/** The descriptors this process may have open (`RLIMIT_NOFILE`, soft). */
export function descriptorLimit(): number {
  const limits = Deno.readTextFileSync("/proc/self/limits");
  const line = limits.split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === "unlimited" ? Infinity : Number(soft);
}

/** Descriptors of this process that the library may open, by kind. */
export interface LibraryDescriptors {
  /** On files under the directory asked about. */
  files: number;
  /** io_uring rings. */
  rings: number;
  /** eventfds (completion signals of the queue backends). */
  eventfds: number;
}

/**
 * Counts this process's descriptors the library may open: on files under
 * `dir`, rings and eventfds (not the runtime's sockets and pipes, which come
 * and go by themselves).
 */
export function libraryDescriptors(dir: string): LibraryDescriptors {
  const counts = { files: 0, rings: 0, eventfds: 0 };
  for (const { name } of Deno.readDirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // closed meanwhile (the directory listing's own, for one)
    }
    if (target.startsWith(`${dir}/`)) counts.files++;
    else if (target === "anon_inode:[io_uring]") counts.rings++;
    else if (target === "anon_inode:[eventfd]") counts.eventfds++;
  }
  return counts;
}
