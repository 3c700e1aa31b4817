import * as net from 'node:net';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { AzureObjectStorage } from './azure-object-storage';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * DefaultAzureCredential when it finds no identity. A real identity needs Microsoft Entra ID,
 * which no emulator provides; what is checked here is that a deployment without one gets a 503
 * (its cause logged as a misconfiguration), not a 500 or a hang. Every probe stays on loopback:
 * the managed-identity endpoint is pointed at a closed loopback port (instead of the Azure
 * metadata address), the other sources find nothing in this environment (no AZURE_CLIENT_* or
 * federated token, no az, azd or pwsh on the path).
 */
describe('AzureObjectStorage with DefaultAzureCredential and no identity', () => {
  const saved = { ...process.env };

  afterAll(() => {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it('answers BACKEND_UNAVAILABLE (503) for a call, promptly', async () => {
    const identity = await closedPort();
    const store = await closedPort();
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('AZURE_') || name.startsWith('IDENTITY_') || name.startsWith('MSI_')) {
        delete process.env[name];
      }
    }
    process.env['IDENTITY_ENDPOINT'] = `http://127.0.0.1:${identity}/msi/token`;
    process.env['IDENTITY_HEADER'] = 'test';
    process.env['PATH'] = '/nonexistent';
    const storage = new AzureObjectStorage(
      {
        container: 'artifacts',
        account: 'acme',
        prefix: '',
        endpoint: `https://127.0.0.1:${store}/acme`,
        credential: { kind: 'default' },
      },
      { requestTimeoutMs: 1500 },
    );
    const started = Date.now();
    const err = await storage.stat('some/key').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe(ErrorCode.BackendUnavailable);
    // Bounded by the storage's own timeout (a check of the container, then the call), not by
    // the credential's retries (about 10 s per call left to themselves).
    expect(Date.now() - started).toBeLessThan(7_000);
  }, 20_000);
});
