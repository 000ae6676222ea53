// Cleanup bookkeeping: undone in reverse order, once, despite failures, interrupts and late registrations.
// The model test drives a fake world (a set of live resources, not a cluster) with fast-check commands.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResourceKind } from '../../conformance/cleanup.js';
import { CleanupRegistry } from '../../conformance/cleanup.js';

const noPause = async () => undefined;

/** Live resources; deletion can be made to fail a number of times. Records double deletions. */
class World {
  readonly live = new Map<string, ResourceKind>();
  readonly failuresLeft = new Map<string, number>();
  readonly deleted: string[] = [];
  doubleDeletes = 0;
  create(id: string, kind: ResourceKind): void {
    this.live.set(id, kind);
  }
  async remove(id: string): Promise<void> {
    await Promise.resolve(); // deletion takes a turn of the event loop, as an API call does
    const failures = this.failuresLeft.get(id) ?? 0;
    if (failures > 0) {
      this.failuresLeft.set(id, failures - 1);
      throw new Error(`delete ${id}: HTTP 500 InternalError`);
    }
    if (!this.live.has(id)) this.doubleDeletes++;
    this.live.delete(id);
    this.deleted.push(id);
  }
}

describe('CleanupRegistry', () => {
  it('undoes in reverse order of registration, scopes included', async () => {
    const world = new World();
    const root = new CleanupRegistry({ pause: noPause });
    const track = (registry: CleanupRegistry, id: string, kind: ResourceKind) => {
      world.create(id, kind);
      registry.add(kind, id, () => world.remove(id));
    };
    track(root, 'cluster', 'cluster');
    track(root, 'ns-sys', 'namespace');
    const scope = root.scope('scenario a');
    track(scope, 'ns-a', 'namespace');
    track(scope, 'profile-a', 'profile');
    track(scope, 'pod-a', 'pod');
    track(root, 'late-root', 'namespace');
    const report = await root.run();
    expect(world.deleted).toEqual(['late-root', 'pod-a', 'profile-a', 'ns-a', 'ns-sys', 'cluster']);
    expect(report.undone.map((s) => s.description)).toEqual(['late-root', 'pod-a', 'profile-a', 'ns-a', 'ns-sys', 'cluster']);
    expect(report.failed).toEqual([]);
  });

  it('a scope run by its scenario is not run again by the parent, and its report is counted once', async () => {
    const world = new World();
    const root = new CleanupRegistry({ pause: noPause });
    const scope = root.scope('scenario');
    world.create('ns', 'namespace');
    scope.add('namespace', 'ns', () => world.remove('ns'));
    await scope.run();
    await scope.run();
    const report = await root.run();
    expect(world.deleted).toEqual(['ns']);
    expect(report.undone.map((s) => s.description)).toEqual(['ns']);
  });

  it('retries a failing undo, then reports it and carries on', async () => {
    const world = new World();
    const root = new CleanupRegistry({ pause: noPause, attempts: 3 });
    for (const id of ['a', 'b', 'c']) {
      world.create(id, 'namespace');
      root.add('namespace', id, () => world.remove(id));
    }
    world.failuresLeft.set('b', 5);
    world.failuresLeft.set('c', 2);
    const report = await root.run();
    expect(report.failed).toEqual([{ id: 2, kind: 'namespace', description: 'b', error: 'delete b: HTTP 500 InternalError' }]);
    expect([...world.live.keys()]).toEqual(['b']);
  });

  it('keeps what --keep names, but still cleans scopes and local files', async () => {
    const world = new World();
    const keep = new Set<ResourceKind>(['cluster', 'namespace', 'profile', 'pod']);
    const root = new CleanupRegistry({ pause: noPause, keep });
    for (const [id, kind] of [['cluster', 'cluster'], ['tmp', 'local'], ['ns', 'namespace']] as const) {
      world.create(id, kind);
      root.add(kind, id, () => world.remove(id));
    }
    const report = await root.run();
    expect(report.kept.map((s) => s.description)).toEqual(['ns', 'cluster']);
    expect(report.undone.map((s) => s.description)).toEqual(['tmp']);
    expect([...world.live.keys()].sort()).toEqual(['cluster', 'ns']);
  });

  it('undoes steps registered after cleanup finished (a scenario still creating things when interrupted)', async () => {
    const world = new World();
    const root = new CleanupRegistry({ pause: noPause });
    const scope = root.scope('scenario');
    await root.run();
    world.create('pod', 'pod');
    scope.add('pod', 'pod', () => world.remove('pod'));
    const report = await root.run();
    expect(world.live.size).toBe(0);
    expect(report.undone.map((s) => s.description)).toEqual(['pod']);
  });

  it('forget() drops a step the normal flow already undid', async () => {
    const root = new CleanupRegistry({ pause: noPause });
    let calls = 0;
    const id = root.add('pod', 'pod', async () => void calls++);
    root.forget(id);
    expect(root.pending()).toEqual([]);
    await root.run();
    expect(calls).toBe(0);
  });
});

// ---- Model-based test ----

interface Model {
  created: number;
}
interface Real {
  world: World;
  root: CleanupRegistry;
  /** Open scenario scopes (a scenario in flight). */
  scopes: CleanupRegistry[];
  /** Cleanups started and not awaited: interrupts racing with ongoing work. */
  inFlight: Promise<unknown>[];
  next: number;
}

const kinds: ResourceKind[] = ['namespace', 'profile', 'pod'];

class Create implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly kind: ResourceKind,
    readonly inScope: boolean,
    readonly flaky: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const id = `${this.kind}-${real.next++}`;
    const registry = this.inScope && real.scopes.length > 0 ? (real.scopes[real.scopes.length - 1] ?? real.root) : real.root;
    real.world.create(id, this.kind);
    if (this.flaky > 0) real.world.failuresLeft.set(id, this.flaky);
    registry.add(this.kind, id, () => real.world.remove(id));
    model.created++;
  }
  toString = () => `create ${this.kind}${this.inScope ? ' in scope' : ''}${this.flaky ? ` (fails ${this.flaky}x)` : ''}`;
}

class OpenScope implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_model: Model, real: Real): Promise<void> {
    real.scopes.push(real.root.scope(`scenario ${real.next++}`));
  }
  toString = () => 'open scope';
}

/** A scenario ends (agree, mismatch, error or timeout): its scope is cleaned. */
class FinishScope implements fc.AsyncCommand<Model, Real> {
  constructor(readonly awaited: boolean) {}
  check = () => true;
  async run(_model: Model, real: Real): Promise<void> {
    const scope = real.scopes.pop();
    if (!scope) return;
    const done = scope.run();
    if (this.awaited) await done;
    else real.inFlight.push(done);
  }
  toString = () => `finish scope${this.awaited ? '' : ' (not awaited)'}`;
}

/** A scenario fails midway: a resource's deletion will fail transiently. */
class Fail implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real): Promise<void> {
    const ids = [...real.world.live.keys()];
    const id = ids[this.pick % Math.max(1, ids.length)];
    if (id) real.world.failuresLeft.set(id, (real.world.failuresLeft.get(id) ?? 0) + 1);
  }
  toString = () => `fail #${this.pick}`;
}

/** SIGINT: the global cleanup starts while scenarios keep running and registering. */
class Interrupt implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_model: Model, real: Real): Promise<void> {
    real.inFlight.push(real.root.run());
  }
  toString = () => 'interrupt';
}

describe('CleanupRegistry model', () => {
  it('after cleanup nothing is left, nothing is deleted twice, and the report lists every resource once', async () => {
    const commands = fc.commands(
      [
        fc.tuple(fc.constantFrom(...kinds), fc.boolean(), fc.integer({ min: 0, max: 2 })).map(([kind, inScope, flaky]) => new Create(kind, inScope, flaky)),
        fc.constant(new OpenScope()),
        fc.boolean().map((awaited) => new FinishScope(awaited)),
        fc.nat(20).map((pick) => new Fail(pick)),
        fc.constant(new Interrupt()),
      ],
      { maxCommands: 40 },
    );
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        // Three attempts and at most two injected failures per resource from Create, plus Fail's: allow enough tries.
        const real: Real = { world: new World(), root: new CleanupRegistry({ pause: noPause, attempts: 50 }), scopes: [], inFlight: [], next: 0 };
        const model: Model = { created: 0 };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await Promise.all(real.inFlight);
        const report = await real.root.run();
        expect([...real.world.live.keys()]).toEqual([]);
        expect(real.world.doubleDeletes).toBe(0);
        expect(report.failed).toEqual([]);
        const undone = report.undone.map((s) => s.description).sort();
        expect(undone).toEqual([...new Set(undone)]);
        expect(undone).toHaveLength(model.created);
      }),
      { numRuns: 300 },
    );
  });

  it('with deletions that never succeed, the report names exactly what is left', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...kinds), fc.boolean()), { minLength: 1, maxLength: 15 }), async (resources) => {
        const world = new World();
        const root = new CleanupRegistry({ pause: noPause, attempts: 2 });
        resources.forEach(([kind, broken], i) => {
          const id = `${kind}-${i}`;
          world.create(id, kind);
          if (broken) world.failuresLeft.set(id, Number.POSITIVE_INFINITY);
          root.add(kind, id, () => world.remove(id));
        });
        const report = await root.run();
        expect(report.failed.map((f) => f.description).sort()).toEqual([...world.live.keys()].sort());
        expect(report.undone.length + report.failed.length).toBe(resources.length);
      }),
    );
  });
});
