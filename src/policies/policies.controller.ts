import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ErrorCase, ERRORS } from '../common/http/api-errors.decorator';
import {
  ModelPolicyParams,
  PolicyDto,
  PolicyStageParams,
  PRODUCTION_POLICY_EXAMPLE,
  StoredPolicyDto,
} from './dto/policy.dto';
import { PoliciesService } from './policies.service';

const NO_TENANT_POLICY: ErrorCase = {
  code: ErrorCode.PolicyNotFound,
  when: 'no policy is set for this stage',
  message:
    'the tenant has no production policy (without one, a transition needs what it did before policies)',
};
const NO_MODEL_POLICY: ErrorCase = {
  code: ErrorCode.PolicyNotFound,
  when: 'the model has no policy of its own for this stage (the tenant’s applies)',
  message: "model 'churn-predictor' has no production policy of its own (the tenant's applies)",
};
const MISPLACED_FIELD: ErrorCase = {
  code: ErrorCode.ValidationFailed,
  key: 'MISPLACED_FIELD',
  when: "a field of the other stage's policy, or an unknown field",
  message: 'required_approvals belongs to the production policy, not to the staging policy',
  details: {
    fields: ['required_approvals belongs to the production policy, not to the staging policy'],
  },
};

const POLICY_DESCRIPTION =
  'Every field optional; a field of the other stage’s policy (required_approvals, approver_roles, ' +
  'request_ttl_seconds, demotion_requires_approval are production’s; auto_promote is staging’s) or ' +
  'an unknown field is 400. Without any policy a transition needs what it did before policies: ' +
  'one approver for production, no gates. Changes are in the audit chain.';

@ApiTags('policies')
@Controller()
export class PoliciesController {
  constructor(private readonly policies: PoliciesService) {}

  @Get('policies/:stage')
  @Authenticated(Permission.Read)
  @ApiOperation({ summary: "The tenant's promotion policy for a stage" })
  @ApiOkResponse({ type: StoredPolicyDto, example: PRODUCTION_POLICY_EXAMPLE })
  @ApiErrors(NO_TENANT_POLICY)
  getTenant(
    @CurrentCaller() caller: Caller,
    @Param() params: PolicyStageParams,
  ): Promise<StoredPolicyDto> {
    return this.policies.get(caller.tenant, null, params.stage);
  }

  @Put('policies/:stage')
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: "Set the tenant's promotion policy for a stage (replaces it whole)",
    description: POLICY_DESCRIPTION,
  })
  @ApiOkResponse({ type: StoredPolicyDto, example: PRODUCTION_POLICY_EXAMPLE })
  @ApiErrors(MISPLACED_FIELD)
  putTenant(
    @CurrentCaller() caller: Caller,
    @Param() params: PolicyStageParams,
    @Body() dto: PolicyDto,
  ): Promise<StoredPolicyDto> {
    return this.policies.put(caller, null, params.stage, dto);
  }

  @Delete('policies/:stage')
  @HttpCode(204)
  @Authenticated(Permission.Administer)
  @ApiOperation({ summary: "Remove the tenant's promotion policy for a stage" })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(NO_TENANT_POLICY)
  async deleteTenant(
    @CurrentCaller() caller: Caller,
    @Param() params: PolicyStageParams,
  ): Promise<void> {
    await this.policies.delete(caller, null, params.stage);
  }

  @Get('models/:name/policies/:stage')
  @Authenticated(Permission.Read)
  @ApiOperation({ summary: "A model's own promotion policy for a stage (its override)" })
  @ApiOkResponse({ type: StoredPolicyDto, example: PRODUCTION_POLICY_EXAMPLE })
  @ApiErrors(ERRORS.modelNotFound, NO_MODEL_POLICY)
  getModel(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelPolicyParams,
  ): Promise<StoredPolicyDto> {
    return this.policies.get(caller.tenant, params.name, params.stage);
  }

  @Put('models/:name/policies/:stage')
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: "Set a model's promotion policy for a stage: it replaces the tenant's, whole",
    description: POLICY_DESCRIPTION,
  })
  @ApiOkResponse({ type: StoredPolicyDto, example: PRODUCTION_POLICY_EXAMPLE })
  @ApiErrors(MISPLACED_FIELD, ERRORS.modelNotFound)
  putModel(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelPolicyParams,
    @Body() dto: PolicyDto,
  ): Promise<StoredPolicyDto> {
    return this.policies.put(caller, params.name, params.stage, dto);
  }

  @Delete('models/:name/policies/:stage')
  @HttpCode(204)
  @Authenticated(Permission.Administer)
  @ApiOperation({ summary: "Remove a model's own policy (the tenant's applies again)" })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(ERRORS.modelNotFound, NO_MODEL_POLICY)
  async deleteModel(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelPolicyParams,
  ): Promise<void> {
    await this.policies.delete(caller, params.name, params.stage);
  }
}
