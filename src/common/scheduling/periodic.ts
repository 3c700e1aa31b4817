import { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';

/**
 * A round of background work that never runs twice at once in this process: a round still
 * running when the next is due (a slow backend) is not doubled, the next tick waits for it.
 * Never rejects: a failure is logged, and the next round tries again (a rejection from a timer
 * would end the process, see fatal-errors.ts).
 */
export function singleFlight(name: string, round: () => Promise<unknown>): () => Promise<void> {
  const logger = new Logger(name);
  let running: Promise<void> | undefined;
  return () => {
    running ??= round()
      .then(() => undefined)
      .catch((err: unknown) => logger.error({ err }, `${name}: a round failed`))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}

/**
 * Runs `round` now and then every `everyMs`, registered under `name` with @nestjs/schedule
 * (which stops it when the application closes). For an interval read from the configuration;
 * a fixed one is an `@Interval()`. The timer does not keep the process alive on its own.
 */
export function scheduleEvery(
  registry: SchedulerRegistry,
  name: string,
  everyMs: number,
  round: () => Promise<void>,
): void {
  const timer = setInterval(() => void round(), everyMs);
  timer.unref();
  registry.addInterval(name, timer);
  void round();
}
