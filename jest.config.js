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

const common = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': tsJest },
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
    // Needs the real stack (scripts/stack.sh up; STACK_* variables): `npm run test:integration`.
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/src/**/*.int-spec.ts', '<rootDir>/test/**/*.int-spec.ts'],
    },
  ],
};
