import { Injectable } from '@nestjs/common';
import type { Caller } from '../common/auth/caller.decorator';
import type { ModelVersionRecord } from '../mlflow/registry-types';

/** Points a protected alias at a version once its request is approved; answers the version. */
export type AliasSetter = (
  actor: Caller,
  model: string,
  alias: string,
  version: number,
) => Promise<ModelVersionRecord>;

/**
 * Where the aliases feature plugs in what an approved alias request does: the approval
 * workflow applies it without knowing aliases (the dependency points from aliases to here).
 */
@Injectable()
export class AliasEffect {
  private setter?: AliasSetter;

  register(setter: AliasSetter): void {
    this.setter = setter;
  }

  apply(actor: Caller, model: string, alias: string, version: number): Promise<ModelVersionRecord> {
    if (this.setter === undefined) throw new Error('no alias setter is registered');
    return this.setter(actor, model, alias, version);
  }
}
