import type { Logger } from '@nestjs/common';
import type { Page, RegisteredModelRecord } from '../registry-types';
import { refused } from './mlflow-errors';
import { MlflowApiError, MlflowHttpClient } from './mlflow-http-client';
import { mlflowOffsetToken, MlflowRegisteredModel, tagsOf, toModel } from './mlflow-mapper';
import { MlflowTenancy, plainName } from './mlflow-tenancy';
import {
  decodeSearchToken,
  encodeSearchToken,
  isAfter,
  likeMatches,
  type ModelOrder,
  type ModelSearchQuery,
  type SearchCursor,
} from '../model-search';

/** MLflow's limit on `max_results` of `registered-models/search`. */
const MLFLOW_MAX_RESULTS = 1000;
/** How many MLflow calls one page may take when the name filter keeps few of its models. */
const MAX_CALLS_PER_PAGE = 5;
/** How far before its old place a page looks for the previous page's last model. */
const RESUME_LOOK_BACK = 100;

interface MlflowListing {
  models: MlflowRegisteredModel[];
  /** MLflow has models after these. */
  more: boolean;
}

/** Whether an MLflow model is the one the cursor names (and, by last update, unchanged). */
function isCursorModel(m: MlflowRegisteredModel, cursor: SearchCursor, order: ModelOrder): boolean {
  return (
    m.name === cursor.name &&
    (order === 'name' || toModel(m).lastUpdatedAt === cursor.lastUpdatedAt)
  );
}

/** A tenant's registered models on a real MLflow server, page by page (`registered-models/search`). */
export class MlflowModelSearch {
  constructor(
    private readonly client: MlflowHttpClient,
    private readonly tenancy: MlflowTenancy,
    private readonly logger: Logger,
  ) {}

  /**
   * MLflow pages by offset (its tokens are base64 of `{"offset": N}`), so a model created or
   * deleted before the cursor would shift the next page by one: a duplicate or a gap. The
   * service's token keeps the last model a page went through and where it stood; the next page
   * starts right after that model wherever it now stands (looked up at its old place, then
   * around it, then from the start), so pages stay keyset pages. Only when that model itself
   * is gone (deleted, or moved by an update under last_updated) does the next page start at
   * the first model after its key in code point order, which is MLflow's order when its
   * database sorts names bytewise ("C" collation; see README).
   */
  async search(tenant: string, query: ModelSearchQuery): Promise<Page<RegisteredModelRecord>> {
    const order = query.orderBy ?? 'name';
    const cursor = decodeSearchToken(query);
    const filter = this.tenancy.modelFilter(tenant, query.nameLike);
    if (filter === null) return { items: [] };
    const listing = (offset: number, size: number) => this.searchPage(filter, order, offset, size);
    const wanted = (m: MlflowRegisteredModel): boolean =>
      // The tag filter is exact; the ownership check is a second line of defence, and the
      // name checks make the filter's wildcards exact (see MlflowTenancy.modelFilter).
      this.tenancy.ownedBy(tagsOf(m.tags), tenant) &&
      this.tenancy.ownsName(m.name, tenant) &&
      (query.nameLike === undefined || likeMatches(query.nameLike, plainName(m.name)));

    const items: MlflowRegisteredModel[] = [];
    /** The last model gone through, and its offset in MLflow's listing. */
    let last: { model: MlflowRegisteredModel; position: number } | undefined;
    let offset = 0;
    let batch: MlflowListing | undefined;
    if (cursor !== undefined) {
      const at = cursor.position ?? 0;
      const there = await listing(at, Math.min(MLFLOW_MAX_RESULTS, query.maxResults + 2));
      if (there.models.length > 0 && isCursorModel(there.models[0], cursor, order)) {
        offset = at + 1;
        batch = { models: there.models.slice(1), more: there.more };
      } else {
        offset = await this.resume(listing, cursor, order);
      }
    }
    for (let calls = 0; ; calls++) {
      if (batch === undefined) {
        if (calls >= MAX_CALLS_PER_PAGE && last !== undefined) {
          // Many models matched the filter but not the name: a short page, resumable.
          return { items: items.map((m) => toModel(m)), nextPageToken: this.token(query, last) };
        }
        batch = await listing(
          offset,
          Math.min(MLFLOW_MAX_RESULTS, query.maxResults - items.length + 1),
        );
      }
      for (let i = 0; i < batch.models.length; i++) {
        const model = batch.models[i];
        if (items.length === query.maxResults) {
          const more = batch.models.slice(i).some(wanted) || batch.more;
          return {
            items: items.map((m) => toModel(m)),
            nextPageToken: more && last !== undefined ? this.token(query, last) : undefined,
          };
        }
        last = { model, position: offset + i };
        if (wanted(model)) items.push(model);
      }
      offset += batch.models.length;
      if (!batch.more || batch.models.length === 0) return { items: items.map((m) => toModel(m)) };
      batch = undefined;
    }
  }

  private token(
    query: ModelSearchQuery,
    last: { model: MlflowRegisteredModel; position: number },
  ): string {
    return encodeSearchToken(query, {
      name: last.model.name,
      lastUpdatedAt: toModel(last.model).lastUpdatedAt,
      position: last.position,
    });
  }

  /** The offset in MLflow's listing right after the cursor's model (see searchRegisteredModels). */
  private async resume(
    listing: (offset: number, size: number) => Promise<MlflowListing>,
    cursor: SearchCursor,
    order: ModelOrder,
  ): Promise<number> {
    let start = Math.max(0, (cursor.position ?? 0) - RESUME_LOOK_BACK);
    let rewound = start === 0;
    for (;;) {
      const chunk = await listing(start, MLFLOW_MAX_RESULTS);
      const at = chunk.models.findIndex((m) => isCursorModel(m, cursor, order));
      if (at >= 0) return start + at + 1;
      const after = chunk.models.findIndex((m) =>
        isAfter(order, { name: m.name, lastUpdatedAt: toModel(m).lastUpdatedAt }, cursor),
      );
      if (after === 0 && !rewound) {
        // More models went away before the cursor than we looked back: look from the start.
        start = 0;
        rewound = true;
        continue;
      }
      if (after >= 0) return start + after;
      if (!chunk.more) return start + chunk.models.length;
      start += chunk.models.length;
      rewound = true;
    }
  }

  /** One `registered-models/search` call from an offset (MLflow's token for it). */
  private async searchPage(
    filter: string,
    order: ModelOrder,
    offset: number,
    size: number,
  ): Promise<MlflowListing> {
    try {
      const page = await this.client.get<{
        registered_models?: MlflowRegisteredModel[];
        next_page_token?: string;
      }>('registered-models/search', {
        filter,
        max_results: size,
        // MLflow breaks ties by name ascending itself.
        order_by: order === 'name' ? 'name ASC' : 'last_updated_timestamp DESC',
        page_token: offset > 0 ? mlflowOffsetToken(offset) : undefined,
      });
      return {
        models: page.registered_models ?? [],
        more: page.next_page_token !== undefined && page.next_page_token !== '',
      };
    } catch (err) {
      if (err instanceof MlflowApiError) throw refused(this.logger, err, 'the model search');
      throw err;
    }
  }
}
