/** Every API route lives under this path (health and documentation do not). */
export const API_PREFIX = 'api/v1/ml/registry';
