// jest setupFile of the `e2e-real` project: createTestApp puts every app on the real stack.
process.env.REGISTRY_TEST_BACKENDS = 'real';
