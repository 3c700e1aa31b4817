import type { Client } from 'minio';

export interface IncompleteUpload {
  /** The object name the upload would complete into (bucket prefix included). */
  key: string;
  uploadId: string;
  /** When S3 started it; an invalid date when the store does not say. */
  initiated: Date;
}

/** Runs one call to the store with the storage's own timeouts and error translation. */
export type StoreCall = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Aborts the incomplete multipart uploads under `prefix` for which `abandoned` is true, listing
 * them a page (up to 1,000) at a time with ListMultipartUploads: a process killed in the middle
 * of a multipart upload or copy leaves one, whose parts are stored (and billed) but never seen.
 * An upload already gone (finished or aborted meanwhile) is skipped. Returns how many were
 * aborted.
 *
 * minio-js's own listIncompleteUploads is not used: it lists the parts of every upload (one
 * request each) to report a size, and drops the initiation time this needs. Its page parser
 * loses NextUploadIdMarker too, so a page ends on a key: further uploads of the key that closes
 * a truncated page wait for the next sweep.
 */
export async function abortIncompleteUploads(
  client: Client,
  bucket: string,
  prefix: string,
  abandoned: (upload: IncompleteUpload) => boolean,
  call: StoreCall,
): Promise<number> {
  let aborted = 0;
  let keyMarker = '';
  for (;;) {
    const marker = keyMarker;
    const page = await call('list incomplete uploads', () =>
      client.listIncompleteUploadsQuery(bucket, prefix, marker, '', ''),
    );
    for (const upload of page.uploads as IncompleteUpload[]) {
      if (!upload.key.startsWith(prefix) || !abandoned(upload)) continue;
      const gone = await call('abort incomplete upload', () =>
        client.abortMultipartUpload(bucket, upload.key, upload.uploadId).then(
          () => false,
          (err: unknown) => {
            if ((err as { code?: string }).code === 'NoSuchUpload') return true;
            throw err;
          },
        ),
      );
      if (!gone) aborted++;
    }
    if (!page.isTruncated || !page.nextKeyMarker || page.nextKeyMarker === marker) return aborted;
    keyMarker = page.nextKeyMarker;
  }
}
