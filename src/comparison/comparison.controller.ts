import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorResponseDto } from '../common/http/error-response.dto';
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
      'as null and left out of the verdict. The recommendation says which metrics decided it and by how much.',
  })
  @ApiOkResponse({ type: ComparisonDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  compare(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelParams,
    @Query() query: CompareQueryDto,
  ): Promise<ComparisonDto> {
    return this.comparison.compare(caller.tenant, params.name, query.versions);
  }
}
