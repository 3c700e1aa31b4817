import { RegistryError } from '../common/errors/registry-error';
import type { UpdateMetadataDto } from './dto/update-metadata.dto';

/** A PATCH must change something; an empty one is a client mistake worth naming. */
export function requireSomeChange(dto: UpdateMetadataDto): void {
  if (dto.description === undefined && dto.tags === undefined) {
    throw RegistryError.validation('body must set description, tags or both');
  }
}
