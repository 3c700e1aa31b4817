import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIntInRange } from '../../common/validation/int-range';
import { Transform } from 'class-transformer';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { MODEL_ORDERS, type ModelOrder } from '../../mlflow/model-search';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';
import { toInteger } from '../../common/validation/params.dto';

export const MAX_RESULTS_LIMIT = 1000;
/** Twice the longest model name: room for a backslash before each character. */
export const NAME_LIKE_MAX_LENGTH = 256;
/** Names' characters, the wildcards, and a backslash before `%`, `_` or `\`. */
const NAME_LIKE_PATTERN = /^(?:[A-Za-z0-9._%-]|\\[%_\\])*$/; // empty: IsNotEmpty says so

export class ListModelsQueryDto extends TenantQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: 'Page size, 1 to 1000',
    minimum: 1,
    maximum: MAX_RESULTS_LIMIT,
    default: 100,
    example: 100,
  })
  @IsOptional()
  @Transform(toInteger)
  @IsIntInRange('max_results', 1, MAX_RESULTS_LIMIT)
  max_results?: number;

  @ApiPropertyOptional({
    type: String,
    description: 'The `next_page_token` of the previous page',
    maxLength: 2048,
  })
  @IsOptional()
  @MaxLength(2048)
  @IsString()
  page_token?: string;

  @ApiPropertyOptional({
    type: String,
    description:
      "Only models whose name is LIKE this pattern, as MLflow's `name LIKE`: case-sensitive, " +
      '`%` matches any run of characters, `_` any one character; `\\%`, `\\_` and `\\\\` match ' +
      'the character itself. `churn%`: names starting with churn; `%forecast%`: containing ' +
      'forecast. Empty is a 400 (leave it out to list every model).',
    maxLength: NAME_LIKE_MAX_LENGTH,
    // Named examples, the first empty: Swagger UI pre-fills the first and sends no empty
    // parameter, so "Try it out" lists every model until an example is picked.
    examples: {
      all: { summary: 'Every model (no filter)', value: '' },
      prefix: { summary: 'Names starting with churn', value: 'churn%' },
      contains: { summary: 'Names containing forecast', value: '%forecast%' },
      literal: { summary: 'churn_v2 itself, _ taken literally', value: 'churn\\_v2' },
    },
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'name_like must not be empty; leave it out to list every model' })
  @MaxLength(NAME_LIKE_MAX_LENGTH, {
    message: `name_like must be at most ${NAME_LIKE_MAX_LENGTH} characters`,
  })
  @Matches(NAME_LIKE_PATTERN, {
    message:
      "name_like may hold only model name characters (letters, digits, '.', '_', '-'), the " +
      "wildcards '%' and '_', and a backslash before '%', '_' or '\\' to match it literally",
  })
  name_like?: string;

  @ApiPropertyOptional({
    enum: MODEL_ORDERS,
    enumName: 'ModelOrder',
    description:
      '`name`: by name, A to Z (code point order: upper case before lower case); ' +
      '`last_updated`: most recently updated first, models updated at the same millisecond ' +
      'by name. A page token belongs to the `order_by` and `name_like` it was issued with.',
    default: 'name',
    examples: {
      name: { summary: 'By name, A to Z (the default)', value: 'name' },
      last_updated: { summary: 'Most recently updated first', value: 'last_updated' },
    },
  })
  @IsOptional()
  @IsIn(MODEL_ORDERS, { message: 'order_by must be one of name, last_updated' })
  order_by?: ModelOrder;
}
