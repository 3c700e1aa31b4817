/** @type {import('jest').Config} */
const tsJest = [
  'ts-jest',
  {
    tsconfig: 'tsconfig.json',
    // Types are checked by `npm run typecheck`; here the Swagger plugin needs the program.
    diagnostics: false,
    astTransformers: { before: ['<rootDir>/test/support/swagger-transformer.js'] },
  },
];

/**
 * The HTTP suites that exercise the backends. The others (http, openapi, swagger-ui, shutdown)
 * test the HTTP layer and the process, which do not change with the backends.
 */
const REAL_STACK_E2E = [
  'models',
  'artifacts',
  'artifacts-download',
  'transitions',
  'comparison',
  'restart',
  'registration-races',
  'approval-outage',
  'idempotency',
  'transition-intents',
  'security/early-answers',
  'artifact-documents',
  'model-formats',
  'governance',
  'aliases',
  'protected-aliases',
  'webhooks',
  'audit',
];

/** The HTTP suites that exercise the object store, run on Azure Blob (Azurite) in `e2e-azure`. */
const AZURE_E2E = [
  'artifacts',
  'artifacts-download',
  'artifact-documents',
  'upload-refused-midway',
];

const common = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': tsJest },
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    // Services with their real repositories on a temporary SQLite and the embedded backend.
    { ...common, displayName: 'medium', testMatch: ['<rootDir>/test/medium/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
    // The same HTTP suites once more with every backend real (see test/support/test-app.ts).
    {
      ...common,
      displayName: 'e2e-real',
      testMatch: REAL_STACK_E2E.map((name) => `<rootDir>/test/${name}.e2e-spec.ts`),
      setupFiles: ['<rootDir>/test/support/real-backends.js'],
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.js'],
    },
    // The artifact suites once more with the artifacts in Azure Blob Storage (the stack's Azurite).
    {
      ...common,
      displayName: 'e2e-azure',
      testMatch: AZURE_E2E.map((name) => `<rootDir>/test/${name}.e2e-spec.ts`),
      setupFiles: ['<rootDir>/test/support/azure-backends.js'],
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.js'],
    },
    // Needs the real stack (scripts/stack.sh up; STACK_* variables): `npm run test:integration`.
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/src/**/*.int-spec.ts', '<rootDir>/test/**/*.int-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.js'],
    },
  ],
};
