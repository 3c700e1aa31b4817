import { forbiddenAddress, resolveTarget, TargetRefused } from './ssrf-guard';

describe('forbiddenAddress', () => {
  it.each([
    '10.0.0.1',
    '10.255.255.255',
    '127.0.0.1',
    '127.8.9.10',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.100.100.200',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::10.0.0.1',
  ])('refuses %s', (address) => {
    expect(forbiddenAddress(address)).toBeDefined();
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
  ])('allows the public %s', (address) => {
    expect(forbiddenAddress(address)).toBeUndefined();
  });
});

describe('resolveTarget', () => {
  it('refuses a name that resolves to loopback, unless private networks are allowed', async () => {
    await expect(resolveTarget('localhost', false)).rejects.toBeInstanceOf(TargetRefused);
    const allowed = await resolveTarget('localhost', true);
    expect(['127.0.0.1', '::1']).toContain(allowed.address);
  });

  it('answers a literal address as is, brackets removed', async () => {
    await expect(resolveTarget('[::1]', false)).rejects.toBeInstanceOf(TargetRefused);
    expect(await resolveTarget('[::1]', true)).toEqual({ address: '::1', family: 6 });
  });
});
