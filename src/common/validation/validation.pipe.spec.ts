import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { RegistryError } from '../errors/registry-error';
import { VersionParams } from './params.dto';
import { VALIDATED_MEMO_MAX_ENTRIES } from '../fast-path';
import { RegistryValidationPipe } from './validation.pipe';

const params: ArgumentMetadata = { type: 'param', metatype: VersionParams, data: undefined };

describe('RegistryValidationPipe', () => {
  it('validates and transforms path parameters into the DTO', async () => {
    const pipe = new RegistryValidationPipe();
    const out = await pipe.transform({ name: 'churn', version: '3' }, params);
    expect(out).toBeInstanceOf(VersionParams);
    expect(out).toEqual({ name: 'churn', version: 3 });
  });

  it('answers a repeated read from its memo with a fresh copy each time', async () => {
    const pipe = new RegistryValidationPipe();
    // class-validator's full check (still run when called): once per distinct value.
    const checks = jest.spyOn(ValidationPipe.prototype, 'transform');
    const first = (await pipe.transform({ name: 'churn', version: '3' }, params)) as VersionParams;
    first.version = 99;
    const second = (await pipe.transform({ name: 'churn', version: '3' }, params)) as VersionParams;
    const third = (await pipe.transform({ name: 'churn', version: '3' }, params)) as VersionParams;
    expect(second).toBeInstanceOf(VersionParams);
    expect(second).toEqual({ name: 'churn', version: 3 });
    expect(third).not.toBe(second);
    expect(checks).toHaveBeenCalledTimes(1);
    checks.mockRestore();
    expect(await pipe.transform({ name: 'churn', version: '4' }, params)).toEqual({
      name: 'churn',
      version: 4,
    });
  });

  it('refuses an invalid value every time (failures are not remembered)', async () => {
    const pipe = new RegistryValidationPipe();
    for (let i = 0; i < 3; i++) {
      const err = await pipe.transform({ name: '-bad', version: '0' }, params).catch((e) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).message).toMatch(/name must match/);
    }
  });

  it('keeps working past VALIDATED_MEMO_MAX_ENTRIES distinct values', async () => {
    const pipe = new RegistryValidationPipe();
    for (let i = 1; i <= VALIDATED_MEMO_MAX_ENTRIES + 5; i++) {
      await pipe.transform({ name: 'm', version: String(i) }, params);
    }
    expect(await pipe.transform({ name: 'm', version: '7' }, params)).toEqual({
      name: 'm',
      version: 7,
    });
    await expect(pipe.transform({ name: 'm', version: 'x' }, params)).rejects.toBeInstanceOf(
      RegistryError,
    );
  }, 60_000);
});
