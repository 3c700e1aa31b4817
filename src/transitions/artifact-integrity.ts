import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { filesOf } from '../artifacts/artifacts.repository';
import { ArtifactFile, ArtifactsService } from '../artifacts/artifacts.service';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError } from '../common/errors/registry-error';
import { isModelFile } from '../domain/model-files';

const MODEL_FILE = 'the model file';

/** What re-reading a version's stored model file found. */
export type IntegrityVerdict =
  { ok: true; sha256: string } | { ok: false; reason: string; sha256: string | null };

/**
 * Binds an approval to the bytes that were reviewed: the model file's digest when the request
 * is made, and the stored file re-read (streamed: memory does not grow with its size) and
 * hashed before an approved production transition is applied.
 */
@Injectable()
export class ArtifactIntegrity {
  constructor(private readonly artifacts: ArtifactsService) {}

  /** The artifact's model file (model.pkl, model.pt, ...) as recorded at upload. */
  private async modelFile(tenant: string, artifactId: string): Promise<ArtifactFile> {
    const row = await this.artifacts.requireReady(tenant, artifactId);
    const name = filesOf(row).find((f) => isModelFile(f.name))?.name ?? 'model.pkl';
    return this.artifacts.file(tenant, artifactId, name);
  }

  /** The recorded SHA-256 of the version's model file; null for a version with no artifact. */
  async recordedDigest(tenant: string, artifactId: string | null): Promise<string | null> {
    if (artifactId === null) return null;
    try {
      return (await this.modelFile(tenant, artifactId)).sha256;
    } catch (err) {
      if (
        isRegistryError(err, ErrorCode.ArtifactNotFound) ||
        isRegistryError(err, ErrorCode.ArtifactFileNotFound)
      ) {
        return null;
      }
      throw err;
    }
  }

  /**
   * Re-reads the stored model file and compares its SHA-256 with `expected`. A store that
   * cannot be read throws (503: the apply is retried); a file that is gone or differs is a
   * verdict (final).
   */
  async verify(
    tenant: string,
    artifactId: string | null,
    version: number,
    expected: string,
  ): Promise<IntegrityVerdict> {
    if (artifactId === null) {
      return { ok: false, sha256: null, reason: `version ${version} has no artifact any more` };
    }
    let file;
    try {
      file = await this.modelFile(tenant, artifactId);
    } catch (err) {
      if (
        isRegistryError(err, ErrorCode.ArtifactNotFound) ||
        isRegistryError(err, ErrorCode.ArtifactFileNotFound)
      ) {
        return { ok: false, sha256: null, reason: `${MODEL_FILE} of version ${version} is gone` };
      }
      throw err;
    }
    const hash = createHash('sha256');
    try {
      await pipeline(
        await this.artifacts.read(file),
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            done();
          },
        }),
      );
    } catch (err) {
      if (isRegistryError(err, ErrorCode.ArtifactFileNotFound)) {
        return { ok: false, sha256: null, reason: `${MODEL_FILE} of version ${version} is gone` };
      }
      throw err;
    }
    const actual = hash.digest('hex');
    if (actual === expected) return { ok: true, sha256: actual };
    return {
      ok: false,
      sha256: actual,
      reason:
        `${MODEL_FILE} of version ${version} has SHA-256 ${actual}, not ${expected} as when the ` +
        'request was made: the stored bytes changed after review',
    };
  }
}
