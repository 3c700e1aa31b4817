import { Controller, Get, INestApplication } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, Reflector } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import request from 'supertest';
import type { App } from 'supertest/types';
import { AppConfig, loadConfig } from '../../config/app-config';
import { HttpExceptionFilter } from '../errors/http-exception.filter';
import { AuthGuard } from './auth.guard';
import { Authenticated, Public } from './authenticated.decorator';
import { Caller, CurrentCaller } from './caller.decorator';
import { JwtVerifier } from './jwt-verifier';
import { Permission } from './roles';

const SECRET = 'auth-guard-spec-secret-0123456789-abcdefghij';
const TENANT = 'acme-corp';

const describeCaller = (caller: Caller) => ({
  subject: caller.principal.subject,
  tenant: caller.tenant,
  roles: caller.principal.roles,
});

@Controller('probe')
class ProbeController {
  @Get('public')
  @Public()
  open() {
    return { ok: true };
  }

  @Get('read')
  @Authenticated(Permission.Read)
  read(@CurrentCaller() caller: Caller) {
    return describeCaller(caller);
  }

  @Get('write')
  @Authenticated(Permission.Write)
  write(@CurrentCaller() caller: Caller) {
    return describeCaller(caller);
  }

  @Get('decide')
  @Authenticated(Permission.Decide)
  decide(@CurrentCaller() caller: Caller) {
    return describeCaller(caller);
  }

  @Get('administer')
  @Authenticated(Permission.Administer)
  administer(@CurrentCaller() caller: Caller) {
    return describeCaller(caller);
  }

  @Get('forgotten')
  forgotten() {
    return { reached: true };
  }
}

function token(
  roles: string[],
  tenant = TENANT,
  sub = 'alice',
  secret: string = SECRET,
): Promise<string> {
  return new SignJWT({ tenant_id: tenant, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
}

describe('AuthGuard (global guard on a Nest app)', () => {
  let app: INestApplication<App>;
  let dataDir: string;
  const tokens: Record<string, string> = {};

  const get = (path: string, bearer?: string): request.Test => {
    const req = request(app.getHttpServer()).get(path);
    return bearer === undefined ? req : req.set('Authorization', `Bearer ${bearer}`);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-guard-spec-'));
    const moduleRef = await Test.createTestingModule({
      controllers: [ProbeController],
      providers: [
        {
          provide: AppConfig,
          useValue: loadConfig({ DATA_DIR: dataDir, AUTH_JWT_SECRET: SECRET }),
        },
        JwtVerifier,
        Reflector,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();

    tokens.viewer = await token(['viewer']);
    tokens.editor = await token(['editor']);
    tokens.approver = await token(['approver']);
    tokens.admin = await token(['admin']);
    tokens.none = await token([]);
    tokens.unknownOnly = await token(['superuser', 'root']);
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('public routes', () => {
    it('answers without a token', async () => {
      const res = await get('/probe/public').expect(200);
      expect(res.body).toEqual({ ok: true });
    });

    it('ignores a bad token', async () => {
      await get('/probe/public', 'garbage').expect(200);
    });
  });

  describe('authentication', () => {
    const expect401 = (res: request.Response, message: RegExp): void => {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'UNAUTHENTICATED',
      });
      expect(res.body.message).toMatch(message);
    };

    it('refuses a request without an Authorization header', async () => {
      expect401(await get('/probe/read'), /bearer token is required/);
    });

    it('refuses an empty Authorization header', async () => {
      expect401(await get('/probe/read').set('Authorization', ''), /bearer token is required/);
    });

    it.each([['Basic x'], ['Bearer'], ['Bearer '], ['Token abc'], ['Bearer a b']])(
      "refuses the Authorization header '%s'",
      async (header) => {
        expect401(await get('/probe/read').set('Authorization', header), /'Bearer <token>'/);
      },
    );

    it('refuses a garbage bearer token', async () => {
      expect401(await get('/probe/read', 'not-a-jwt'), /malformed/);
    });

    it('refuses a token signed with another secret', async () => {
      const forged = await token(['admin'], TENANT, 'mallory', 'x'.repeat(40));
      expect401(await get('/probe/administer', forged), /signature is invalid/);
    });

    it('accepts the scheme name in any case', async () => {
      await get('/probe/read')
        .set('Authorization', `bearer ${tokens.viewer}`)
        .expect(200)
        .expect((res) => expect(res.body.subject).toBe('alice'));
    });

    it('authenticates before refusing an undecorated route', async () => {
      expect401(await get('/probe/forgotten'), /bearer token is required/);
    });
  });

  describe('role matrix', () => {
    // Written out by hand from the contract, not derived from roles.ts.
    const matrix: Record<string, Record<Permission, 200 | 403>> = {
      viewer: { read: 200, write: 403, decide: 403, administer: 403 },
      editor: { read: 200, write: 200, decide: 403, administer: 403 },
      approver: { read: 200, write: 403, decide: 200, administer: 403 },
      admin: { read: 200, write: 200, decide: 200, administer: 200 },
      none: { read: 403, write: 403, decide: 403, administer: 403 },
      unknownOnly: { read: 403, write: 403, decide: 403, administer: 403 },
    };
    const cells = Object.entries(matrix).flatMap(([role, row]) =>
      Object.entries(row).map(([permission, status]) => ({ role, permission, status })),
    );

    it.each(cells)('$role on $permission → $status', async ({ role, permission, status }) => {
      const res = await get(`/probe/${permission}`, tokens[role]);
      expect(res.status).toBe(status);
      if (status === 200) {
        expect(res.body).toEqual({
          subject: 'alice',
          tenant: TENANT,
          roles: role === 'none' || role === 'unknownOnly' ? [] : [role],
        });
      } else {
        expect(res.body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
      }
    });

    it('names the roles that would grant the permission', async () => {
      const write = await get('/probe/write', tokens.viewer).expect(403);
      expect(write.body.message).toBe('this action needs one of the roles editor, admin');
      const decide = await get('/probe/decide', tokens.editor).expect(403);
      expect(decide.body.message).toBe('this action needs one of the roles approver, admin');
      const administer = await get('/probe/administer', tokens.approver).expect(403);
      expect(administer.body.message).toBe('this action needs one of the roles admin');
    });

    it('grants the union of several roles', async () => {
      const both = await token(['viewer', 'approver']);
      await get('/probe/decide', both).expect(200);
      await get('/probe/write', both).expect(403);
    });
  });

  describe('a route without any auth decorator', () => {
    it.each(['viewer', 'editor', 'approver', 'admin', 'none'])(
      'is refused with 403 for %s (fails closed)',
      async (role) => {
        const res = await get('/probe/forgotten', tokens[role]);
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ code: 'FORBIDDEN', message: /not open to any role/ });
        expect(res.body.reached).toBeUndefined();
      },
    );
  });

  describe('tenant_id query (CurrentCaller / resolveCaller)', () => {
    it("acts on the token's tenant by default", async () => {
      const res = await get('/probe/read', tokens.editor).expect(200);
      expect(res.body.tenant).toBe(TENANT);
    });

    it('lets a non-admin name their own tenant', async () => {
      const res = await get(`/probe/write?tenant_id=${TENANT}`, tokens.editor).expect(200);
      expect(res.body).toEqual({ subject: 'alice', tenant: TENANT, roles: ['editor'] });
    });

    it.each(['viewer', 'editor', 'approver'])(
      'refuses another tenant for a %s with 403',
      async (role) => {
        const res = await get('/probe/read?tenant_id=globex', tokens[role]);
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ code: 'FORBIDDEN', message: /only .* for an admin/ });
      },
    );

    it('lets an admin act on another tenant', async () => {
      const res = await get('/probe/read?tenant_id=globex', tokens.admin).expect(200);
      expect(res.body).toEqual({ subject: 'alice', tenant: 'globex', roles: ['admin'] });
      const write = await get('/probe/write?tenant_id=initech.eu_1', tokens.admin).expect(200);
      expect(write.body.tenant).toBe('initech.eu_1');
    });

    it.each([
      ['containing a space', 'a%20b'],
      ['empty', ''],
      ['70 characters long', 'x'.repeat(70)],
      ['starting with a dot', '.hidden'],
      ['a path', '..%2Fetc'],
    ])('refuses a tenant_id %s with 400', async (_what, value) => {
      const res = await get(`/probe/read?tenant_id=${value}`, tokens.admin);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', message: /tenant_id/ });
    });

    it('refuses a repeated tenant_id with 400', async () => {
      const res = await get(`/probe/read?tenant_id=${TENANT}&tenant_id=globex`, tokens.admin);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('checks the role before the tenant: a viewer naming another tenant on write gets 403', async () => {
      const res = await get('/probe/write?tenant_id=globex', tokens.viewer).expect(403);
      expect(res.body.message).toMatch(/needs one of the roles/);
    });
  });
});
