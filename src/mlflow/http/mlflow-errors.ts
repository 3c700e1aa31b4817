import type { Logger } from '@nestjs/common';
import { RegistryError } from '../../common/errors/registry-error';
import { MlflowApiError } from './mlflow-http-client';

/** MLflow answered with its own error of this `error_code`. */
export function isCode(err: unknown, code: string): err is MlflowApiError {
  return err instanceof MlflowApiError && err.errorCode === code;
}

/** MLflow refused a value: say so without its internal names (they go to the log). */
export function refused(logger: Logger, err: MlflowApiError, what: string): RegistryError {
  logger.warn({ mlflow: err.message }, `MLflow refused ${what}`);
  return RegistryError.validation(`the registry backend refused ${what}`);
}
