"""Signed S3 checks for the test stack (run with .stack/venv/bin/python; boto3 is pinned there).

  s3util.py probe BUCKET...   create each bucket if missing, then put/get/delete a probe
                              object in the last one (proves the write path, not just the
                              gateway, is up); retries until STACK_TIMEOUT seconds (default 120)
  s3util.py selftest BUCKET   put/get, a 3-part multipart upload, and the refusal of an
                              unsigned and of a wrongly signed request

Reads STACK_S3_ENDPOINT, STACK_S3_ACCESS_KEY and STACK_S3_SECRET_KEY from the environment.
"""

import hashlib
import os
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["STACK_S3_ENDPOINT"]


def client(secret=None, attempts=2):
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=os.environ["STACK_S3_ACCESS_KEY"],
        aws_secret_access_key=secret or os.environ["STACK_S3_SECRET_KEY"],
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": attempts},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def ensure_bucket(s3, bucket):
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise


def probe(buckets):
    # Right after a start the volume server may not have registered with the master yet
    # (its heartbeat retries every 5 s): writes fail until it has, so retry.
    s3 = client(attempts=1)
    deadline = time.monotonic() + float(os.environ.get("STACK_TIMEOUT", "120"))
    while True:
        try:
            for b in buckets:
                ensure_bucket(s3, b)
            b, key, body = buckets[-1], "probe", os.urandom(64)
            s3.put_object(Bucket=b, Key=key, Body=body)
            assert s3.get_object(Bucket=b, Key=key)["Body"].read() == body, "read-back differs"
            s3.delete_object(Bucket=b, Key=key)
            return
        except Exception as e:  # noqa: BLE001 - any failure means "not ready yet"
            if time.monotonic() > deadline:
                raise
            print(f"probe not ready yet: {e}", file=sys.stderr)
            time.sleep(0.5)


def selftest(bucket):
    s3 = client()
    ensure_bucket(s3, bucket)
    key = "stack-selftest/small.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"hello"
    print("put/get ok")

    key = "stack-selftest/multipart.bin"
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), b"tail"]
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=data)
        done.append({"ETag": r["ETag"], "PartNumber": n})
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": done}
    )
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(b"".join(parts)).digest()
    print(f"multipart ok ({len(got)} bytes in {len(parts)} parts)")

    try:
        urllib.request.urlopen(f"{ENDPOINT}/{bucket}/stack-selftest/small.txt", timeout=10)
        raise AssertionError("an unsigned GET was accepted")
    except urllib.error.HTTPError as e:
        print(f"unsigned GET refused ({e.code})")
    try:
        client(secret="wrong-secret").list_buckets()
        raise AssertionError("a wrongly signed request was accepted")
    except ClientError as e:
        print(f"wrong secret refused ({e.response['Error']['Code']})")

    for k in ("stack-selftest/small.txt", key):
        s3.delete_object(Bucket=bucket, Key=k)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"probe": lambda: probe(args), "selftest": lambda: selftest(args[0])}[cmd]()
