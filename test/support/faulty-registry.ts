import { Injectable } from '@nestjs/common';
import { RegistryError } from '../../src/common/errors/registry-error';
import { Database } from '../../src/database/database';
import { EmbeddedMlflowRegistry } from '../../src/mlflow/embedded/embedded-mlflow-registry';
import { MlflowRegistry } from '../../src/mlflow/mlflow-registry';

/** A call of the port, by name. */
export type PortCall = {
  [K in keyof MlflowRegistry]: MlflowRegistry[K] extends (...args: never[]) => unknown ? K : never;
}[keyof MlflowRegistry];

interface Fault {
  /** `before`: the call fails without reaching the store; `after`: it commits, then fails (a timeout). */
  when: 'before' | 'after';
  error: () => Error;
  /** How many calls fail; Infinity until cleared. */
  left: number;
}

interface Pause {
  reached: () => void;
  released: Promise<void>;
}

/**
 * The embedded backend, with failures and pauses injected per instance (never through static
 * state shared by every test): `fail('createModelVersion', { when: 'after' })` makes the next
 * version creation commit and then fail as a timed-out call would.
 */
@Injectable()
export class FaultyRegistry extends EmbeddedMlflowRegistry {
  private readonly faults = new Map<PortCall, Fault>();
  private readonly pauses = new Map<PortCall, Pause>();
  /** Every call made, in order, by name. */
  readonly calls: PortCall[] = [];

  constructor(database: Database) {
    super(database);
    const self = this as unknown as Record<PortCall, (...args: unknown[]) => Promise<unknown>>;
    for (const name of portCalls()) {
      const real = self[name].bind(this);
      self[name] = async (...args: unknown[]): Promise<unknown> => {
        this.calls.push(name);
        const pause = this.pauses.get(name);
        if (pause !== undefined) {
          this.pauses.delete(name);
          pause.reached();
          await pause.released;
        }
        const fault = this.take(name);
        if (fault?.when === 'before') throw fault.error();
        const result = await real(...args);
        if (fault?.when === 'after') throw fault.error();
        return result;
      };
    }
  }

  /** The next `times` calls of `call` fail (503 BACKEND_UNAVAILABLE unless `error` says). */
  fail(
    call: PortCall,
    options: { when?: 'before' | 'after'; times?: number; error?: () => Error } = {},
  ): void {
    this.faults.set(call, {
      when: options.when ?? 'before',
      left: options.times ?? 1,
      error: options.error ?? (() => RegistryError.unavailable('the registry backend')),
    });
  }

  /** The next call of `call` waits, once it is reached, until `release()`. */
  pause(call: PortCall): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const wasReached = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    this.pauses.set(call, { reached, released });
    return { reached: wasReached, release };
  }

  clear(): void {
    this.faults.clear();
    this.pauses.clear();
    this.calls.length = 0;
  }

  private take(call: PortCall): Fault | undefined {
    const fault = this.faults.get(call);
    if (fault === undefined) return undefined;
    fault.left -= 1;
    if (fault.left <= 0) this.faults.delete(call);
    return fault;
  }
}

/** Every call of the port; the compiler checks that none is missing (see `everyCallListed`). */
const PORT_CALLS = [
  'createRegisteredModel',
  'getRegisteredModel',
  'searchRegisteredModels',
  'updateRegisteredModel',
  'setRegisteredModelTag',
  'deleteRegisteredModelTag',
  'deleteRegisteredModel',
  'createModelVersion',
  'getModelVersionWithModel',
  'getModelVersion',
  'searchModelVersions',
  'updateModelVersion',
  'setModelVersionTag',
  'deleteModelVersionTag',
  'transitionModelVersionStage',
  'deleteModelVersion',
  'setRegisteredModelAlias',
  'deleteRegisteredModelAlias',
  'getModelVersionByAlias',
  'createRun',
  'getRun',
  'deleteRun',
  'ping',
] as const satisfies readonly PortCall[];
type Unlisted = Exclude<PortCall, (typeof PORT_CALLS)[number]>;
const everyCallListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyCallListed;

function portCalls(): readonly PortCall[] {
  return PORT_CALLS;
}
