/*
 * The framework ceiling: a bare NestJS app with the same two read routes as the service,
 * answering fixed JSON (the service's own answers, captured by the bench). No guard, no pipe,
 * no logger, no database. Run by the bench as a child process:
 *   node -r ts-node/register/transpile-only bench/bare-app.ts express|fastify <port> <json file>
 */
import 'reflect-metadata';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  Module,
  Param,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { JwtVerifier } from '../src/common/auth/jwt-verifier';
import type { AppConfig } from '../src/config/app-config';
import { SECRET } from './lib/service';

const [adapterName, portArg, jsonFile] = process.argv.slice(2);
const answers = JSON.parse(readFileSync(jsonFile, 'utf8')) as { version: unknown; list: unknown };

@Controller()
class BareController {
  @Get('ready')
  ready(): { status: string } {
    return { status: 'ok' };
  }

  @Get('api/v1/ml/registry/models')
  list(): unknown {
    return answers.list;
  }

  @Get('api/v1/ml/registry/models/:name/versions/:version')
  version(@Param('name') _name: string, @Param('version') _version: string): unknown {
    return answers.version;
  }
}

/**
 * The identity cost alone: the service's own JwtVerifier (HS256, claims, tenant) and the
 * tenant scoping a read does (the principal's tenant picks the data), nothing else.
 */
const verifier = new JwtVerifier({ auth: { jwtSecret: SECRET } } as AppConfig);

@Injectable()
class BareAuthGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; tenant?: string }>();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) return false;
    req.tenant = (await verifier.verify(match[1])).tenantId;
    return true;
  }
}

@Controller('auth')
@UseGuards(BareAuthGuard)
class BareAuthController {
  @Get('api/v1/ml/registry/models/:name/versions/:version')
  version(@Param('name') _name: string, @Param('version') _version: string): unknown {
    return answers.version;
  }
}

@Module({ controllers: [BareController, BareAuthController] })
class BareModule {}

async function main(): Promise<void> {
  const port = Number(portArg);
  if (adapterName === 'fastify') {
    // Loaded only here: the Express run never pays for it.
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const app = await NestFactory.create(BareModule, new FastifyAdapter(), { logger: false });
    await app.listen(port, '127.0.0.1');
  } else {
    const app = await NestFactory.create(BareModule, { logger: false });
    await app.listen(port, '127.0.0.1');
  }
}

void main();
