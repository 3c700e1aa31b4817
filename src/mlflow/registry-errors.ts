import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';

// The port's "not found" errors, worded once so that both adapters answer alike.

export function modelNotFound(name: string): RegistryError {
  return new RegistryError(ErrorCode.ModelNotFound, `model '${name}' does not exist`);
}

export function versionNotFound(name: string, version: number): RegistryError {
  return new RegistryError(ErrorCode.VersionNotFound, `model '${name}' has no version ${version}`);
}

export function runNotFound(runId: string): RegistryError {
  return new RegistryError(ErrorCode.RunNotFound, `run '${runId}' does not exist`);
}

export function aliasNotFound(name: string, alias: string): RegistryError {
  return new RegistryError(ErrorCode.AliasNotFound, `model '${name}' has no alias '${alias}'`);
}
