import { Body, Controller, INestApplication, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Stage } from '../mlflow/registry-types';
import { ApprovalGuard, ApprovalRequired, RequiresApproval } from './approval.guard';

@Controller()
class GatedController {
  @Post('gated')
  @RequiresApproval(Stage.Production)
  gated(@ApprovalRequired() required: boolean, @Body() body: unknown) {
    return { required, body };
  }

  @Post('ungated')
  ungated(@ApprovalRequired() required: boolean) {
    return { required };
  }
}

describe('ApprovalGuard', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [GatedController],
      providers: [{ provide: APP_GUARD, useClass: ApprovalGuard }],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterAll(() => app.close());

  it.each([
    [{ stage: 'production' }, true],
    [{ stage: 'PRODUCTION' }, true],
    [{ stage: 'Production' }, true],
    [{ stage: 'staging' }, false],
    [{ stage: 'archived' }, false],
    [{ stage: ['production'] }, false],
    [{}, false],
  ])(
    'on a route marked @RequiresApproval(production), %j needs approval: %s',
    async (body, expected) => {
      const res = await request(app.getHttpServer()).post('/gated').send(body).expect(201);
      expect(res.body.required).toBe(expected);
    },
  );

  it('leaves routes without the mark alone', async () => {
    const res = await request(app.getHttpServer())
      .post('/ungated')
      .send({ stage: 'production' })
      .expect(201);
    expect(res.body.required).toBe(false);
  });
});
