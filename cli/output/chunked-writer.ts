// Output written while later results are still being computed: results as they come, in small writes.

/**
 * Gathers output into writes of ~16 KiB, or of what came within 200 ms, so that a reader at the other end of a pipe
 * sees results while a slow input is still arriving; standard output is synchronous for files and pipes on Linux.
 * Small writes are cheaper than big ones here: a fresh 1 MiB string and buffer per write cost 300-500 ms over the
 * 28 MB of the --cluster benchmark's output, 16 KiB writes 25-50 ms.
 */
class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  private since = 0;

  write(text: string): void {
    if (this.parts.length === 0) this.since = Date.now();
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 1 << 14 || Date.now() - this.since >= 200) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    process.stdout.write(this.parts.length === 1 ? (this.parts[0] ?? '') : this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

/**
 * A document written as its parts (rendered results) come: `head` before the first, `separator` between them. Nothing
 * is written before the first part, so that a document without parts can be written whole, as the format writes it.
 */
export class PartsWriter {
  private count = 0;
  private readonly out = new ChunkedWriter();

  constructor(
    private readonly head: string,
    private readonly separator: string,
  ) {}

  add(part: string): void {
    this.out.write(this.count++ === 0 ? this.head + part : this.separator + part);
  }

  /** Writes what is buffered (the input has nothing to read yet). */
  flush(): void {
    this.out.flush();
  }

  /** Ends the document: `tail()` after the parts, or `whole()` when there were none. */
  end(tail: () => string, whole: () => string): void {
    this.out.write(this.count === 0 ? whole() : tail());
    this.out.flush();
  }
}
