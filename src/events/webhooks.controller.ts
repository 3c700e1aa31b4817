import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ErrorCase } from '../common/http/api-errors.decorator';
import { Idempotent } from '../idempotency/idempotency.interceptor';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  DeliveryDto,
  DeliveryListDto,
  DeliveryParams,
  ListDeliveriesQueryDto,
  RotatedSecretDto,
  UpdateWebhookDto,
  WebhookDto,
  WebhookListDto,
  WebhookParams,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

const WEBHOOK_NOT_FOUND: ErrorCase = {
  code: ErrorCode.WebhookNotFound,
  when: 'no such webhook in the tenant',
  message: "webhook 'wh_5d1c0e7a9b3f4e2a8c6d' does not exist",
};
const DELIVERY_NOT_FOUND: ErrorCase = {
  code: ErrorCode.DeliveryNotFound,
  when: 'the webhook has no such delivery',
  message: "webhook 'wh_5d1c0e7a9b3f4e2a8c6d' has no delivery 'dlv_0a1b2c3d4e5f60718293a4b5'",
};
const BAD_URL: ErrorCase = {
  code: ErrorCode.ValidationFailed,
  when: 'the url is not https (or names a non-public address), or an event type is unknown',
  message: 'url must be an https URL (plain http needs WEBHOOKS_ALLOW_HTTP=true)',
  details: { fields: ['url must be an https URL (plain http needs WEBHOOKS_ALLOW_HTTP=true)'] },
};

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @Idempotent()
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: 'Subscribe a URL to events (admin)',
    description:
      'Events are POSTed signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, ' +
      '`webhook-signature`). The answer carries the signing `secret`, shown only here.',
  })
  @ApiCreatedResponse({ type: CreatedWebhookDto })
  @ApiErrors(BAD_URL)
  create(
    @CurrentCaller() caller: Caller,
    @Body() dto: CreateWebhookDto,
  ): Promise<CreatedWebhookDto> {
    return this.webhooks.create(caller.tenant, dto);
  }

  @Get()
  @Authenticated(Permission.Administer)
  @ApiOperation({ summary: "The tenant's webhooks (admin; no secrets)" })
  @ApiOkResponse({ type: WebhookListDto })
  list(@CurrentCaller() caller: Caller): Promise<WebhookListDto> {
    return this.webhooks.list(caller.tenant);
  }

  @Get(':webhook_id')
  @Authenticated(Permission.Administer)
  @ApiOperation({ summary: 'One webhook (admin; no secret)' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiErrors(WEBHOOK_NOT_FOUND)
  get(@CurrentCaller() caller: Caller, @Param() params: WebhookParams): Promise<WebhookDto> {
    return this.webhooks.get(caller.tenant, params.webhook_id);
  }

  @Patch(':webhook_id')
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: "Change a webhook's url, events, active or description (admin)",
    description: '`active: false` pauses deliveries (they wait); `active: true` resumes them.',
  })
  @ApiOkResponse({ type: WebhookDto })
  @ApiErrors(BAD_URL, WEBHOOK_NOT_FOUND)
  update(
    @CurrentCaller() caller: Caller,
    @Param() params: WebhookParams,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookDto> {
    return this.webhooks.update(caller.tenant, params.webhook_id, dto);
  }

  @Delete(':webhook_id')
  @HttpCode(204)
  @Authenticated(Permission.Administer)
  @ApiOperation({ summary: 'Delete a webhook and its delivery log (admin)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(WEBHOOK_NOT_FOUND)
  async delete(@CurrentCaller() caller: Caller, @Param() params: WebhookParams): Promise<void> {
    await this.webhooks.delete(caller.tenant, params.webhook_id);
  }

  @Post(':webhook_id/rotate-secret')
  @Idempotent()
  @HttpCode(200)
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: 'Rotate the signing secret (admin)',
    description:
      'For 24 h both secrets sign: `webhook-signature` carries two `v1,` signatures, so a ' +
      'receiver holding either verifies.',
  })
  @ApiOkResponse({ type: RotatedSecretDto })
  @ApiErrors(WEBHOOK_NOT_FOUND)
  rotate(
    @CurrentCaller() caller: Caller,
    @Param() params: WebhookParams,
  ): Promise<RotatedSecretDto> {
    return this.webhooks.rotateSecret(caller.tenant, params.webhook_id);
  }

  @Post(':webhook_id/test')
  @Idempotent()
  @HttpCode(202)
  @Authenticated(Permission.Administer)
  @ApiOperation({ summary: 'Send a `webhook.test` event to this webhook (admin)' })
  @ApiAcceptedResponse({ type: DeliveryDto, description: 'Queued; see its delivery' })
  @ApiErrors(WEBHOOK_NOT_FOUND)
  test(@CurrentCaller() caller: Caller, @Param() params: WebhookParams): Promise<DeliveryDto> {
    return this.webhooks.test(caller.tenant, params.webhook_id);
  }

  @Get(':webhook_id/deliveries')
  @Authenticated(Permission.Administer, { tenantQuery: false })
  @ApiOperation({
    summary: "A webhook's delivery log, newest first (admin)",
    description: 'Status, attempts, last response code and time, next attempt; paged.',
  })
  @ApiOkResponse({ type: DeliveryListDto })
  @ApiErrors(WEBHOOK_NOT_FOUND)
  deliveries(
    @CurrentCaller() caller: Caller,
    @Param() params: WebhookParams,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<DeliveryListDto> {
    return this.webhooks.listDeliveries(
      caller.tenant,
      params.webhook_id,
      query.max_results,
      query.page_token,
    );
  }

  @Post(':webhook_id/deliveries/:delivery_id/redeliver')
  @Idempotent()
  @HttpCode(202)
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: "Send a delivery's event again, as a new delivery (admin)",
    description: "The same event (the same `webhook-id`), behind the model's pending deliveries.",
  })
  @ApiAcceptedResponse({ type: DeliveryDto, description: 'Queued; the new delivery' })
  @ApiErrors(WEBHOOK_NOT_FOUND, DELIVERY_NOT_FOUND)
  redeliver(
    @CurrentCaller() caller: Caller,
    @Param() params: DeliveryParams,
  ): Promise<DeliveryDto> {
    return this.webhooks.redeliver(caller.tenant, params.webhook_id, params.delivery_id);
  }
}
