import { isMlflowPageToken } from './mlflow-mapper';

describe('isMlflowPageToken', () => {
  it('accepts the tokens MLflow issues (base64 of {"offset": N})', () => {
    // As MLflow 3.17 answered registered-models/search with max_results=1.
    expect(isMlflowPageToken('eyJvZmZzZXQiOiAxfQ==')).toBe(true);
    expect(isMlflowPageToken(Buffer.from('{"offset": 1000}').toString('base64'))).toBe(true);
  });

  it.each([
    ['non-ASCII', 'Ö'],
    ['not base64', 'abc$'],
    ['base64 of text', Buffer.from('hello').toString('base64')],
    ['no offset', Buffer.from('{"after": "x"}').toString('base64')],
    ['negative offset', Buffer.from('{"offset": -1}').toString('base64')],
    ['fractional offset', Buffer.from('{"offset": 1.5}').toString('base64')],
    ['null', Buffer.from('null').toString('base64')],
  ])('refuses %s', (_what, token) => {
    expect(isMlflowPageToken(token)).toBe(false);
  });
});
