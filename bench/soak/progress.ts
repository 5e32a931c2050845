/**
 * The soak test's progress on stderr: one line redrawn in place on a terminal,
 * milestones as lines of their own otherwise.
 *
 * @module
 */

/** The progress line and the lines printed between its updates. */
export class Progress {
  readonly #terminal = Deno.stderr.isTerminal();
  readonly #encoder = new TextEncoder();
  #shown = 0;
  #width = 0;

  /** Redraws the line on a terminal, at most 5 times a second (`force`: now). */
  update(text: string, force = false): void {
    if (!this.#terminal) return;
    const now = performance.now();
    if (!force && now - this.#shown < 200) return;
    this.#shown = now;
    const padded = text.padEnd(this.#width);
    this.#width = text.length;
    Deno.stderr.writeSync(this.#encoder.encode(`\r${padded}`));
  }

  /** Prints a line of its own (clearing the progress line on a terminal). */
  line(text: string): void {
    if (this.#terminal && this.#width > 0) {
      Deno.stderr.writeSync(
        this.#encoder.encode(`\r${" ".repeat(this.#width)}\r`),
      );
      this.#width = 0;
    }
    console.error(text);
  }

  /** On a terminal, redraws now; otherwise prints `text` as a line. */
  milestone(text: string): void {
    if (this.#terminal) this.update(text, true);
    else this.line(text);
  }
}
