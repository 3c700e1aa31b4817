// jest setupFilesAfterEnv of the projects on the real stack: real servers on a shared 2-core
// machine are slower than SQLite and files, and the fault tests stop and start them (MLflow
// takes up to ~20 s to come back).
jest.setTimeout(180_000);
