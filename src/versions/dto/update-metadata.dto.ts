import { Optional } from '../../common/validation/optional';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { IsTagPatch } from '../../common/validation/maps';

/** Metadata a client may change. Version, stage, artifact and creator are the server's. */
export class UpdateMetadataDto {
  /** New description. @example "Retrained on March data" */
  @Optional()
  @MaxLength(5000)
  @IsString()
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    description: 'Tags to set; a null value removes the tag.',
    example: { owner: 'ml-team', deprecated_by: null },
  })
  @Optional()
  @IsTagPatch()
  tags?: Record<string, string | null>;
}
