import {
  contentRange,
  DownloadConditions,
  etagOf,
  isNotModified,
  parseRange,
  planDownload,
} from './download-range';

const SHA = 'ab'.repeat(32);
const ETAG = etagOf(SHA);

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=100-199', { start: 100, end: 199 }],
    ['bytes=999-999', { start: 999, end: 999 }],
    ['bytes=900-', { start: 900, end: 999 }],
    ['bytes=0-', { start: 0, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }],
    ['bytes=-100', { start: 900, end: 999 }],
    ['bytes=-1', { start: 999, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=0-99999999999999999999999', { start: 0, end: 999 }],
    ['Bytes=1-2', { start: 1, end: 2 }],
    ['bytes= 1-2 ', { start: 1, end: 2 }],
    ['bytes=007-008', { start: 7, end: 8 }],
    ['bytes=1-2,', { start: 1, end: 2 }],
  ])('%s of 1000 bytes selects %o', (field, expected) => {
    expect(parseRange(field, 1000)).toEqual(expected);
  });

  it.each([
    ['bytes=1000-', 1000],
    ['bytes=1000-2000', 1000],
    ['bytes=99999999999999999999-', 1000],
    ['bytes=-0', 1000],
    ['bytes=0-', 0],
    ['bytes=0-0', 0],
  ])('%s of %i bytes is unsatisfiable', (field, size) => {
    expect(parseRange(field, size)).toBe('unsatisfiable');
  });

  it.each([
    ['bytes=0-1,5-6', 'several ranges'],
    ['bytes=0-1, -1', 'several ranges'],
    ['bytes=5-3', 'last before first'],
    ['bytes=abc', 'not a range'],
    ['bytes=', 'no range'],
    ['bytes=-', 'neither end'],
    ['bytes=1.5-2', 'not an integer'],
    ['bytes=+1-2', 'a sign'],
    ['bytes 0-1', 'no ='],
    ['items=0-1', 'another unit'],
    ['', 'empty'],
    ['bytes=0-1, bytes=2-3', 'two Range fields joined'],
  ])('%s is ignored (%s)', (field) => {
    expect(parseRange(field, 1000)).toBe('ignored');
  });

  it('ignores a suffix range of an empty file (no Content-Range can describe zero bytes)', () => {
    expect(parseRange('bytes=-5', 0)).toBe('ignored');
  });
});

describe('isNotModified', () => {
  it.each([
    ['the ETag', ETAG],
    ['its weak form', `W/${ETAG}`],
    ['*', '*'],
    ['a list with it', `"other", ${ETAG}`],
    ['a list with its weak form', `W/"other",W/${ETAG}`],
    ['a list with empty elements', ` , ${ETAG} ,`],
    ['a list with a tag holding a comma', `"a,b", ${ETAG}`],
  ])('matches %s', (_, field) => {
    expect(isNotModified(field, ETAG)).toBe(true);
  });

  it.each([
    ['another tag', '"sha256-00"'],
    ['the digest unquoted', `sha256-${SHA}`],
    ['the bare digest', SHA],
    ['a malformed list', `${ETAG} "x"`],
    ['a lowercase weak prefix', `w/${ETAG}`],
    ['an empty field', ''],
    ['a list with * among tags', `"x", *`],
  ])('does not match %s', (_, field) => {
    expect(isNotModified(field, ETAG)).toBe(false);
  });
});

describe('planDownload', () => {
  const plan = (conditions: DownloadConditions, size = 1000) =>
    planDownload(conditions, size, ETAG);

  it('is the whole file without conditional or range headers', () => {
    expect(plan({})).toEqual({ status: 200 });
  });

  it('is 304 for a matching If-None-Match, before any Range', () => {
    expect(plan({ ifNoneMatch: ETAG })).toEqual({ status: 304 });
    expect(plan({ ifNoneMatch: `W/${ETAG}`, range: 'bytes=0-1' })).toEqual({ status: 304 });
    expect(plan({ ifNoneMatch: ETAG, range: 'bytes=5000-' })).toEqual({ status: 304 });
  });

  it('serves as if unconditional when If-None-Match does not match', () => {
    expect(plan({ ifNoneMatch: '"old"' })).toEqual({ status: 200 });
    expect(plan({ ifNoneMatch: '"old"', range: 'bytes=0-1' })).toEqual({
      status: 206,
      range: { start: 0, end: 1 },
    });
  });

  it('is 206 for one satisfiable range, 416 for an unsatisfiable one, 200 for an ignored one', () => {
    expect(plan({ range: 'bytes=10-19' })).toEqual({ status: 206, range: { start: 10, end: 19 } });
    expect(plan({ range: 'bytes=1000-' })).toEqual({ status: 416 });
    expect(plan({ range: 'bytes=0-' }, 0)).toEqual({ status: 416 });
    expect(plan({ range: 'bytes=0-1,3-4' })).toEqual({ status: 200 });
  });

  it('honours a Range under If-Range only when If-Range is the strong ETag', () => {
    expect(plan({ range: 'bytes=10-', ifRange: ETAG })).toEqual({
      status: 206,
      range: { start: 10, end: 999 },
    });
    expect(plan({ range: 'bytes=10-', ifRange: ` ${ETAG} ` })).toMatchObject({ status: 206 });
    expect(plan({ range: 'bytes=10-', ifRange: '"sha256-00"' })).toEqual({ status: 200 });
    // Weak tags never match in If-Range; a date cannot match a file sent without Last-Modified.
    expect(plan({ range: 'bytes=10-', ifRange: `W/${ETAG}` })).toEqual({ status: 200 });
    expect(plan({ range: 'bytes=10-', ifRange: 'Tue, 01 Dec 2026 10:00:00 GMT' })).toEqual({
      status: 200,
    });
    // A failed If-Range drops the Range, unsatisfiable or not; a matching one keeps its 416.
    expect(plan({ range: 'bytes=5000-', ifRange: '"sha256-00"' })).toEqual({ status: 200 });
    expect(plan({ range: 'bytes=5000-', ifRange: ETAG })).toEqual({ status: 416 });
  });

  it('ignores If-Range without a Range', () => {
    expect(plan({ ifRange: '"sha256-00"' })).toEqual({ status: 200 });
  });
});

describe('contentRange', () => {
  it('names the part and the size, or only the size', () => {
    expect(contentRange(1000, { start: 0, end: 99 })).toBe('bytes 0-99/1000');
    expect(contentRange(1000)).toBe('bytes */1000');
  });
});
