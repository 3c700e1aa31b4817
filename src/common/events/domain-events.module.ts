import { Global, Module } from '@nestjs/common';
import { DomainEvents } from './domain-events';

/** The one in-process event bus, visible to every feature module. */
@Global()
@Module({ providers: [DomainEvents], exports: [DomainEvents] })
export class DomainEventsModule {}
