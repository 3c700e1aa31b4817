// jest setupFile of the `e2e-azure` project: createTestApp puts every app on the real stack as
// `e2e-real` does, with its artifacts in the stack's Azurite instead of S3 (test/support/stack.ts).
process.env.REGISTRY_TEST_BACKENDS = 'real';
process.env.REGISTRY_TEST_STORE = 'azure';
