import { ApiProperty } from '@nestjs/swagger';
import { IsIn, Matches } from 'class-validator';
import { ARTIFACT_FILE_NAMES, ARTIFACT_ID_PATTERN, ArtifactFileName } from '../artifact-files';

export class ArtifactParams {
  @ApiProperty({
    description: 'The artifact id returned by POST /artifacts',
    example: 'model-7k2m9x4q8w1zt3vb',
    pattern: ARTIFACT_ID_PATTERN.source,
  })
  @Matches(ARTIFACT_ID_PATTERN, {
    message: 'artifact_id must look like model-<letters and digits>',
  })
  artifact_id!: string;
}

export class ArtifactFileParams extends ArtifactParams {
  @ApiProperty({ enum: ARTIFACT_FILE_NAMES, enumName: 'ArtifactFileName', example: 'model.pkl' })
  @IsIn(ARTIFACT_FILE_NAMES, { message: `file must be one of ${ARTIFACT_FILE_NAMES.join(', ')}` })
  file!: ArtifactFileName;
}
