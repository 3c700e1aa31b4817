import { idleLimits, Timeouts } from './s3-transport';

describe('S3 transport: how long each request may stay silent', () => {
  const t: Timeouts = { requestMs: 10, transferMs: 60, copyMs: 120 };

  it.each([
    [
      'a server-side copy (CopyObject)',
      { method: 'PUT', path: '/b/p/to.pkl', headers: { 'x-amz-copy-source': 'b/p/from.pkl' } },
      { before: 120, after: 10 },
    ],
    [
      'a part copied server-side (UploadPartCopy)',
      {
        method: 'PUT',
        path: '/b/p/to.pkl?partNumber=2&uploadId=u',
        headers: { 'x-amz-copy-source': 'b/p/from.pkl', 'content-length': '0' },
      },
      { before: 120, after: 10 },
    ],
    [
      'CompleteMultipartUpload',
      { method: 'POST', path: '/b/p/to.pkl?uploadId=u', headers: { 'content-length': '200' } },
      { before: 120, after: 10 },
    ],
    [
      'an upload part (a body over 64 KiB)',
      {
        method: 'PUT',
        path: '/b/p/to.pkl?partNumber=1&uploadId=u',
        headers: { 'content-length': String(8 * 1024 * 1024) },
      },
      { before: 60, after: 10 },
    ],
    [
      'a download, once its answer has started',
      { method: 'GET', path: '/b/p/model.pkl', headers: {} },
      { before: 10, after: 60 },
    ],
    [
      'a ranged download (the range is a header)',
      { method: 'GET', path: '/b/p/model.pkl', headers: { range: 'bytes=5-9' } },
      { before: 10, after: 60 },
    ],
    ['a stat (HEAD)', { method: 'HEAD', path: '/b/p/model.pkl' }, { before: 10, after: 10 }],
    [
      'a listing (a GET with a query)',
      { method: 'GET', path: '/b?list-type=2&prefix=p%2F' },
      { before: 10, after: 10 },
    ],
    [
      'starting a multipart upload (POST ?uploads)',
      { method: 'POST', path: '/b/p/to.pkl?uploads' },
      { before: 10, after: 10 },
    ],
    [
      'a small PutObject (64 KiB at most)',
      { method: 'PUT', path: '/b/p/config.json', headers: { 'content-length': '65536' } },
      { before: 10, after: 10 },
    ],
    [
      'a batch deletion',
      { method: 'POST', path: '/b?delete', headers: { 'content-length': '300' } },
      { before: 10, after: 10 },
    ],
  ])('%s', (_what, options, limits) => {
    expect(idleLimits(options, t)).toEqual(limits);
  });
});
