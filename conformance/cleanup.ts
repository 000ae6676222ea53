// Bookkeeping of everything a run creates (cluster, namespaces, loaded profiles, pods), undone in reverse order.
// Pure apart from the undo functions it is given, so that it can be tested without a cluster.
//
// Guarantees:
// - every step is undone at most once, however often or concurrently `run()` is called (the SIGINT handler and the
//   normal `finally` path may both call it);
// - a failing undo is retried (`attempts`), then reported, and never stops the remaining steps;
// - steps registered while a cleanup is running, or after it finished (a scenario that was still creating things when
//   the run was interrupted), are undone too;
// - `keep` (the --keep flag) leaves the kinds of resources it names alone and reports them as kept.

export type ResourceKind = 'cluster' | 'namespace' | 'profile' | 'pod' | 'scope' | 'local';

export interface CleanupStep {
  id: number;
  kind: ResourceKind;
  description: string;
}

export interface CleanupFailure extends CleanupStep {
  error: string;
}

export interface CleanupReport {
  undone: CleanupStep[];
  kept: CleanupStep[];
  failed: CleanupFailure[];
}

export interface CleanupOptions {
  /** Tries per step before it is reported as failed. */
  attempts?: number | undefined;
  /** Kinds of resources to leave in place (--keep). Scopes and local files are always cleaned. */
  keep?: ReadonlySet<ResourceKind> | undefined;
  /** Waits between attempts; tests pass a no-op. */
  pause?: ((attempt: number) => Promise<void>) | undefined;
}

interface Entry extends CleanupStep {
  undo: () => Promise<void>;
  state: 'pending' | 'running' | 'done';
}

export class CleanupRegistry {
  private readonly entries: Entry[] = [];
  private nextId = 1;
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly report: CleanupReport = { undone: [], kept: [], failed: [] };
  private readonly attempts: number;
  private readonly keep: ReadonlySet<ResourceKind>;
  private readonly pause: (attempt: number) => Promise<void>;

  constructor(options: CleanupOptions = {}) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.keep = options.keep ?? new Set();
    this.pause = options.pause ?? ((attempt) => new Promise((resolve) => setTimeout(resolve, 500 * attempt)));
  }

  /** Registers how to undo something just created. Returns its id, for `forget`. */
  add(kind: ResourceKind, description: string, undo: () => Promise<void>): number {
    const entry: Entry = { id: this.nextId++, kind, description, undo, state: 'pending' };
    this.entries.push(entry);
    // Registered after (or during) cleanup: undo it as well, or it would leak; a parent's run waits for it.
    if (this.closed) {
      const drained = this.drain().then(() => this.parent?.registry.absorb(this));
      if (this.parent) this.parent.registry.late.push(drained);
      else this.late.push(drained);
    }
    return entry.id;
  }

  /** The resource is gone already (deleted by the normal flow): nothing to undo. */
  forget(id: number): void {
    const entry = this.entries.find((e) => e.id === id);
    if (entry && entry.state === 'pending') entry.state = 'done';
  }

  /**
   * A child registry for one scenario: its steps run when the scenario ends (`child.run()`), or with the parent's
   * cleanup if the run is interrupted first.
   */
  scope(description: string): CleanupRegistry {
    const child = new CleanupRegistry({ attempts: this.attempts, keep: this.keep, pause: this.pause });
    const id = this.add('scope', description, async () => {
      await child.run();
    });
    child.parent = { registry: this, stepId: id };
    return child;
  }

  /** Steps not undone yet, newest first. */
  pending(): CleanupStep[] {
    return this.entries.filter((e) => e.state !== 'done').reverse().map(({ id, kind, description }) => ({ id, kind, description }));
  }

  /** Undoes every registered step, newest first. Safe to call repeatedly and concurrently. */
  async run(): Promise<CleanupReport> {
    this.closed = true;
    await this.drain();
    // Late steps of closed children (or of this registry) drain on their own; wait for them too.
    while (this.late.length > 0) await Promise.all(this.late.splice(0));
    if (this.parent) {
      this.parent.registry.absorb(this);
      this.parent.registry.forget(this.parent.stepId);
    }
    return { undone: [...this.report.undone], kept: [...this.report.kept], failed: [...this.report.failed] };
  }

  private parent: { registry: CleanupRegistry; stepId: number } | undefined;
  /** Drains started by steps registered after cleanup began. */
  private readonly late: Promise<void>[] = [];
  /** How much of this registry's report its parent has taken over already. */
  private exported = { undone: 0, kept: 0, failed: 0 };

  /** Takes over the part of a child's report not taken yet (a child may run more than once). */
  private absorb(child: CleanupRegistry): void {
    this.report.undone.push(...child.report.undone.slice(child.exported.undone));
    this.report.kept.push(...child.report.kept.slice(child.exported.kept));
    this.report.failed.push(...child.report.failed.slice(child.exported.failed));
    child.exported = { undone: child.report.undone.length, kept: child.report.kept.length, failed: child.report.failed.length };
  }

  /** Resolves when no step is pending. One loop runs at a time; concurrent callers wait for it, then look again. */
  private async drain(): Promise<void> {
    while (this.nextPending()) {
      this.draining ??= this.loop().finally(() => {
        this.draining = undefined;
      });
      await this.draining;
    }
  }

  private async loop(): Promise<void> {
    for (let entry = this.nextPending(); entry; entry = this.nextPending()) await this.undo(entry);
  }

  private nextPending(): Entry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry?.state === 'pending') return entry;
    }
    return undefined;
  }

  private async undo(entry: Entry): Promise<void> {
    entry.state = 'running';
    const step: CleanupStep = { id: entry.id, kind: entry.kind, description: entry.description };
    if (this.keep.has(entry.kind)) {
      entry.state = 'done';
      this.report.kept.push(step);
      return;
    }
    let lastError = '';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        await entry.undo();
        entry.state = 'done';
        if (entry.kind !== 'scope') this.report.undone.push(step);
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
        if (attempt < this.attempts) await this.pause(attempt);
      }
    }
    entry.state = 'done';
    this.report.failed.push({ ...step, error: lastError });
  }
}
