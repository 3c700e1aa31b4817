import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ApiErrors, ERRORS } from '../common/http/api-errors.decorator';
import { ModelParams } from '../common/validation/params.dto';
import { ComparisonService } from './comparison.service';
import { CompareQueryDto, ComparisonDto } from './dto/compare.dto';

@ApiTags('comparison')
@Controller('models/:name/compare')
export class ComparisonController {
  constructor(private readonly comparison: ComparisonService) {}

  @Get()
  @Authenticated(Permission.Read, { tenantQuery: false })
  @ApiOperation({
    summary: 'Compare the metrics of 2 to 10 versions and recommend one',
    description:
      'Lower is better for loss, log_loss, mse, rmse, mae, mape, error and names ending in _loss or ' +
      '_error (or another of those words); higher for the rest. A metric some versions lack is shown ' +
      'as null and left out of the verdict. The recommendation says which metrics decided it and by how much: ' +
      'a version at least as good on every metric, else one best on most of them (naming what it loses), ' +
      'or, with primary_metric, the one best on that metric.',
  })
  @ApiQuery({
    name: 'versions',
    required: true,
    // One comma-separated value (versions=2,3), not the repeated versions=2&versions=3.
    style: 'form',
    explode: false,
    description: '2 to 10 distinct version numbers, comma-separated: versions=2,3',
    schema: {
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 999_999_999 },
      minItems: 2,
      maxItems: 10,
      uniqueItems: true,
      example: [2, 3],
    },
  })
  @ApiOkResponse({ type: ComparisonDto })
  @ApiErrors(ERRORS.versionNotFound)
  compare(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelParams,
    @Query() query: CompareQueryDto,
  ): Promise<ComparisonDto> {
    return this.comparison.compare(
      caller.tenant,
      params.name,
      query.versions,
      query.primary_metric,
    );
  }
}
