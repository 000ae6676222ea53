// Output written while later results are still being computed, in writes of about 1 MiB.

/**
 * Gathers output into writes of ~1 MiB, or of what came within 200 ms, so that a reader at the other end of a pipe
 * sees results while a slow input is still arriving; standard output is synchronous for files and pipes on Linux.
 */
export class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  private since = 0;

  write(text: string): void {
    if (this.parts.length === 0) this.since = Date.now();
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 1 << 20 || Date.now() - this.since >= 200) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    process.stdout.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}
