import { EventEmitter } from 'node:events';
import pino from 'pino';
import { Writable } from 'node:stream';
import { exitOnFatalErrors, FATAL_EXIT_CODE } from './fatal-errors';

function harness(requestId?: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const proc = Object.assign(new EventEmitter(), { exit: jest.fn() });
  const flush = jest.fn();
  exitOnFatalErrors({
    logger: pino({ level: 'info' }, sink),
    requestId: () => requestId,
    flush,
    process: proc as unknown as Pick<NodeJS.Process, 'on' | 'exit'>,
  });
  return { lines, proc, flush };
}

describe('exitOnFatalErrors', () => {
  it('logs an unhandled rejection once, fatal, with its request, flushes, and exits 70', () => {
    const { lines, proc, flush } = harness('req-7');
    proc.emit('uncaughtException', new Error('rejected'), 'unhandledRejection');
    proc.emit('uncaughtException', new Error('a second one'), 'uncaughtException');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 60,
      origin: 'unhandledRejection',
      req: { id: 'req-7' },
      err: { message: 'rejected' },
    });
    expect(flush).toHaveBeenCalledTimes(1);
    expect(proc.exit).toHaveBeenCalledTimes(1);
    expect(proc.exit).toHaveBeenCalledWith(FATAL_EXIT_CODE);
  });

  it('outside any request the line has no request id; a failing flush still exits', () => {
    const { lines, proc, flush } = harness(undefined);
    flush.mockImplementation(() => {
      throw new Error('stdout is gone');
    });
    expect(() => proc.emit('uncaughtException', new Error('boom'), 'uncaughtException')).toThrow(
      'stdout is gone',
    );
    expect(lines[0]).not.toHaveProperty('req');
    expect(proc.exit).toHaveBeenCalledWith(FATAL_EXIT_CODE);
  });
});
