import { ErrorCode } from '../common/errors/error-code';
import {
  decodeSearchToken,
  encodeSearchToken,
  likeMatches,
  likeToGlob,
  likeWithoutEscapes,
} from './model-search';

describe('model search', () => {
  it.each([
    ['churn%', 'churn-predictor', true],
    ['churn%', 'Churn-predictor', false],
    ['%churn', 'fraud-churn', true],
    ['c_urn', 'churn', true],
    ['c_urn', 'chhurn', false],
    ['churn\\_v2', 'churn_v2', true],
    ['churn\\_v2', 'churnXv2', false],
    ['a.b', 'aXb', false],
    ['a\\%', 'a%', true],
    ['a\\\\', 'a\\', true],
    ['(x)+', '(x)+', true],
  ])('LIKE %s on %s: %s', (pattern, name, expected) => {
    expect(likeMatches(pattern, name)).toBe(expected);
  });

  it('translates to GLOB, GLOB’s own wildcards taken literally', () => {
    expect(likeToGlob('churn%')).toBe('churn*');
    expect(likeToGlob('c_urn\\_v2')).toBe('c?urn_v2');
    expect(likeToGlob('a*b?[c]%')).toBe('a[*]b[?][[]c]*');
  });

  it('sends MLflow a pattern without escapes, wider where an escape was, none that cannot match', () => {
    expect(likeWithoutEscapes('churn\\_v2%')).toBe('churn_v2%');
    expect(likeWithoutEscapes('a\\%')).toBeNull();
    expect(likeWithoutEscapes("a'")).toBeNull();
  });

  it('refuses a pattern ending with an escaping backslash', () => {
    expect(() => likeMatches('a\\', 'a')).toThrow(
      expect.objectContaining({ code: ErrorCode.ValidationFailed }),
    );
  });

  it('binds a page token to its query', () => {
    const query = { maxResults: 2, nameLike: 'churn%', orderBy: 'last_updated' as const };
    const pageToken = encodeSearchToken(query, { name: 'churn', lastUpdatedAt: 5, position: 3 });
    expect(decodeSearchToken({ ...query, pageToken })).toEqual({
      name: 'churn',
      lastUpdatedAt: 5,
      position: 3,
    });
    expect(() => decodeSearchToken({ ...query, orderBy: 'name', pageToken })).toThrow(
      /order_by=last_updated, not order_by=name/,
    );
    expect(() => decodeSearchToken({ ...query, nameLike: undefined, pageToken })).toThrow(
      /with name_like=churn%/,
    );
    for (const forged of ['x', Buffer.from('{"v":1}').toString('base64url'), '!!']) {
      expect(() => decodeSearchToken({ ...query, pageToken: forged })).toThrow(
        /page_token is not a token this service issued/,
      );
    }
  });
});
