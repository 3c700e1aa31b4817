import { allPassed, evaluate, evaluateGate, evaluateNoRegression, evaluateTag } from './gates';
import { effectivePolicy } from './policy';
import { Stage } from '../mlflow/registry-types';

const v = (
  version: number,
  metrics: Record<string, number>,
  tags: Record<string, string> = {},
) => ({
  version,
  metrics,
  tags,
});

describe('policy evaluation', () => {
  describe('metric gates', () => {
    const cases: [string, number, '>=' | '>' | '<=' | '<' | '==', number, boolean][] = [
      ['>= equal', 0.9, '>=', 0.9, true],
      ['>= below', 0.89, '>=', 0.9, false],
      ['> equal', 0.9, '>', 0.9, false],
      ['> above', 0.91, '>', 0.9, true],
      ['<= equal', 0.2, '<=', 0.2, true],
      ['<= above', 0.21, '<=', 0.2, false],
      ['< equal', 0.2, '<', 0.2, false],
      ['< below', 0.19, '<', 0.2, true],
      ['== equal', 3, '==', 3, true],
      ['== other', 3.0001, '==', 3, false],
    ];
    it.each(cases)('%s', (_name, actual, op, value, passed) => {
      const r = evaluateGate({ metric: 'm', op, value }, v(2, { m: actual }));
      expect(r).toMatchObject({ gate: `m ${op} ${value}`, type: 'metric', passed, actual });
      expect(r.expected).toBe(`${op} ${value}`);
      expect(r.reason).toContain(passed ? 'is' : 'needs');
    });

    it('a version missing the metric fails the gate', () => {
      const r = evaluateGate({ metric: 'f1_score', op: '>=', value: 0.9 }, v(4, { auc: 0.99 }));
      expect(r).toMatchObject({ passed: false, actual: null });
      expect(r.reason).toBe('version 4 has no metric f1_score');
    });

    it('does not read inherited properties as metrics', () => {
      const r = evaluateGate({ metric: 'constructor', op: '>=', value: 0 }, v(1, {}));
      expect(r.passed).toBe(false);
    });
  });

  describe('no regression', () => {
    const rule = { metric: 'f1_score', tolerance: 0.01 };
    it('is skipped without a production version', () => {
      expect(evaluateNoRegression(rule, v(3, { f1_score: 0.5 }), null)).toBeNull();
    });

    it('is skipped when the candidate is the production version', () => {
      expect(
        evaluateNoRegression(rule, v(3, { f1_score: 0.5 }), v(3, { f1_score: 0.5 })),
      ).toBeNull();
    });

    it('higher is better: within the tolerance passes, exactly at the bound passes', () => {
      const prod = v(2, { f1_score: 0.912 });
      expect(evaluateNoRegression(rule, v(3, { f1_score: 0.95 }), prod)?.passed).toBe(true);
      expect(evaluateNoRegression(rule, v(3, { f1_score: 0.905 }), prod)?.passed).toBe(true);
      expect(evaluateNoRegression(rule, v(3, { f1_score: 0.902 }), prod)?.passed).toBe(true);
      const worse = evaluateNoRegression(rule, v(3, { f1_score: 0.9 }), prod)!;
      expect(worse.passed).toBe(false);
      expect(worse.expected).toBe('>= 0.902 (production version 2: 0.912, tolerance 0.01)');
      expect(worse.reason).toContain('higher is better');
    });

    it('lower is better for loss and error metrics', () => {
      const loss = { metric: 'val_loss', tolerance: 0.05 };
      const prod = v(2, { val_loss: 0.3 });
      expect(evaluateNoRegression(loss, v(3, { val_loss: 0.1 }), prod)?.passed).toBe(true);
      expect(evaluateNoRegression(loss, v(3, { val_loss: 0.35 }), prod)?.passed).toBe(true);
      const worse = evaluateNoRegression(loss, v(3, { val_loss: 0.36 }), prod)!;
      expect(worse.passed).toBe(false);
      expect(worse.expected).toMatch(/^<= 0\.35 /);
      expect(worse.reason).toContain('lower is better');
      const rmse = { metric: 'rmse', tolerance: 0 };
      expect(evaluateNoRegression(rmse, v(3, { rmse: 1.1 }), v(2, { rmse: 1 }))?.passed).toBe(
        false,
      );
    });

    it('a zero tolerance admits equal, refuses any worse', () => {
      const strict = { metric: 'auc', tolerance: 0 };
      expect(evaluateNoRegression(strict, v(3, { auc: 0.9 }), v(2, { auc: 0.9 }))?.passed).toBe(
        true,
      );
      expect(evaluateNoRegression(strict, v(3, { auc: 0.8999 }), v(2, { auc: 0.9 }))?.passed).toBe(
        false,
      );
    });

    it('a candidate missing the metric fails; production missing it passes', () => {
      expect(evaluateNoRegression(rule, v(3, {}), v(2, { f1_score: 0.9 }))).toMatchObject({
        passed: false,
        actual: null,
      });
      expect(evaluateNoRegression(rule, v(3, { f1_score: 0.1 }), v(2, {}))?.passed).toBe(true);
    });
  });

  describe('required tags', () => {
    it('passes on the exact value, fails on another or none', () => {
      expect(evaluateTag('bias_review', 'passed', v(1, {}, { bias_review: 'passed' })).passed).toBe(
        true,
      );
      const other = evaluateTag('bias_review', 'passed', v(1, {}, { bias_review: 'pending' }));
      expect(other).toMatchObject({ passed: false, actual: 'pending', expected: '= passed' });
      expect(evaluateTag('bias_review', 'passed', v(1, {}, {}))).toMatchObject({
        passed: false,
        actual: null,
      });
    });
  });

  it('evaluates every rule in order, and a rollback skips no_regression', () => {
    const rules = {
      gates: [{ metric: 'f1_score', op: '>=' as const, value: 0.8 }],
      no_regression: [{ metric: 'f1_score', tolerance: 0 }],
      required_tags: { bias_review: 'passed' },
    };
    const candidate = v(1, { f1_score: 0.85 }, { bias_review: 'passed' });
    const prod = v(2, { f1_score: 0.9 });
    const all = evaluate(rules, candidate, prod);
    expect(all.map((r) => [r.type, r.passed])).toEqual([
      ['metric', true],
      ['no_regression', false],
      ['tag', true],
    ]);
    expect(allPassed(all)).toBe(false);
    const rollback = evaluate(rules, candidate, prod, { skipNoRegression: true });
    expect(rollback.map((r) => r.type)).toEqual(['metric', 'tag']);
    expect(allPassed(rollback)).toBe(true);
  });

  describe('defaults', () => {
    it('no policy is the policy-less workflow', () => {
      expect(effectivePolicy(Stage.Production, null, 'tenant')).toMatchObject({
        source: 'none',
        required_approvals: 1,
        approver_roles: null,
        request_ttl_seconds: null,
        demotion_requires_approval: false,
      });
    });
    it('a production policy defaults to one approver, a week, governed demotion', () => {
      expect(effectivePolicy(Stage.Production, {}, 'tenant')).toMatchObject({
        source: 'tenant',
        required_approvals: 1,
        approver_roles: ['approver'],
        request_ttl_seconds: 604800,
        demotion_requires_approval: true,
        auto_promote: false,
      });
      expect(
        effectivePolicy(Stage.Production, { demotion_requires_approval: false }, 'model')
          .demotion_requires_approval,
      ).toBe(false);
    });
    it('a staging policy promotes automatically only when it says so', () => {
      expect(effectivePolicy(Stage.Staging, {}, 'tenant').auto_promote).toBe(false);
      expect(effectivePolicy(Stage.Staging, { auto_promote: true }, 'tenant').auto_promote).toBe(
        true,
      );
    });
  });
});
