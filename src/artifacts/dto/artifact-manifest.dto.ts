import { ApiProperty } from '@nestjs/swagger';
import { ARTIFACT_FILE_NAMES } from '../artifact-files';

export class ArtifactFileDto {
  @ApiProperty({ enum: ARTIFACT_FILE_NAMES, enumName: 'ArtifactFileName', example: 'model.pkl' })
  name!: string;
  /** Size in bytes. @example 1048576 */
  size!: number;
  /** SHA-256 of the bytes, lowercase hex. @example "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" */
  sha256!: string;
}

export class RegisteredAsDto {
  /** @example "churn-predictor" */
  model!: string;
  /** @example 3 */
  version!: number;
}

export class ArtifactManifestDto {
  /** Pass it as `artifact_id` to register a model version. @example "model-7k2m9x4q8w1zt3vb" */
  artifact_id!: string;
  files!: ArtifactFileDto[];
  /** @example "2025-03-15T09:58:00.000Z" */
  created_at!: string;
  /** Who uploaded it. @example "alice" */
  created_by!: string;
  /** The version registered from this artifact, or null while none is. */
  registered_as!: RegisteredAsDto | null;
}
