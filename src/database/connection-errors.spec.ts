import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError } from '../common/errors/registry-error';
import { isConnectionLost, isDatabaseUnavailable, isUnstorableText } from './connection-errors';
import { translateError } from './postgres';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('database errors', () => {
  it.each([
    ['refused', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['reset', coded('ECONNRESET', 'read ECONNRESET')],
    ['timed out', coded('ETIMEDOUT')],
    [
      'admin shutdown (pg_ctl stop)',
      coded('57P01', 'terminating connection due to administrator command'),
    ],
    ['crash shutdown', coded('57P02')],
    ['cannot connect now (starting up)', coded('57P03', 'the database system is starting up')],
    ['connection exception class 08', coded('08006')],
    ['connection lost', new Error('Connection terminated unexpectedly')],
    ['connect timeout', new Error('Connection terminated due to connection timeout')],
    ['pool wait timeout', new Error('timeout exceeded when trying to connect')],
    ['query_timeout', new Error('Query read timeout')],
    ['broken client', new Error('Client has encountered a connection error and is not queryable')],
    [
      'every address refused (AggregateError)',
      new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], ''),
    ],
    ['wrapped cause', new Error('outer', { cause: coded('ECONNRESET') })],
  ])('a lost connection (%s) is an unavailable database', (_, err) => {
    expect(isConnectionLost(err)).toBe(true);
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['statement_timeout', '57014'],
    ['too many connections', '53300'],
    ['serialization failure', '40001'],
    ['deadlock', '40P01'],
  ])('%s: unavailable for now, but the connection is fine', (_, code) => {
    expect(isDatabaseUnavailable(coded(code))).toBe(true);
    expect(isConnectionLost(coded(code))).toBe(false);
  });

  it.each([
    ['unique violation', coded('23505')],
    ['SQLite unique violation', coded('SQLITE_CONSTRAINT_UNIQUE')],
    ['syntax error', coded('42601')],
    ['undefined table', coded('42P01')],
    ['wrong password', coded('28P01')],
    ['a bug', new TypeError('cannot read properties of undefined')],
    ['not an error', 'ECONNREFUSED'],
    ['null', null],
  ])('%s is not', (_, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('does not loop on an error that is its own cause', () => {
    const err = new Error('self') as Error & { cause?: unknown };
    err.cause = err;
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('translates what the service answers: 503 for an outage, 400 for NUL text, else as is', () => {
    const lost = coded('ECONNREFUSED');
    const outage = translateError(lost);
    expect(isRegistryError(outage, ErrorCode.BackendUnavailable)).toBe(true);
    expect((outage as Error).message).toMatch(/service database/);
    expect((outage as Error).cause).toBe(lost);

    const nul = coded('22021', 'invalid byte sequence for encoding "UTF8": 0x00');
    expect(isUnstorableText(nul)).toBe(true);
    expect(isRegistryError(translateError(nul), ErrorCode.ValidationFailed)).toBe(true);

    const unique = coded('23505');
    expect(translateError(unique)).toBe(unique);
  });
});
