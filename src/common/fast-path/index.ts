/**
 * The fast path: what a hot read (a cached GET of a version or a list page) skips, and why it is
 * safe. Each trick is here, or named here where it must live with its module. Gains are those
 * recorded in BENCHMARKS.md ("What was done" under §1), CPU per cached read measured with
 * `npm run bench -- --only=hot` and `bench/tools/profile-hot.ts`; where several tricks landed
 * together the figure is the step's.
 *
 * | trick | where | measured gain | invariant it relies on |
 * |---|---|---|---|
 * | Cached answers frozen, all the way down, on every store (memory, Redis, bypassed) and typed `Frozen<T>` | `frozen.ts`, used by `cache/metadata-cache.ts` | none by itself: it is what makes the next row safe, and it turns a reader that would change a cached value into a compile error (a throw at run time) | a value handed out by the cache is never changed by anyone |
 * | Frozen JSON: a cached answer is serialized and encoded once, its bytes sent by `res.json` with Express's own headers | `frozen-json.ts`, installed in `app.setup.ts` | with the guard folding (next rows), −18% CPU per cached get, −18-28% per list page (interleaved A/B, hot runs of 2026-11-26 23:22/23:26) | the memory cache hands the same frozen object to every reader; Express keeps its default JSON settings (checked at install: else not installed) |
 * | Validation memo: validated path parameters and queries remembered per DTO class | `validated-memo.ts`, used by `validation/validation.pipe.ts` | validation 7.6% → 1.8% of a cached read's profile (step 0.715 → 0.476 ms/get, with the access-log middleware and the cache's one Map) | validation of all-string params/queries is a pure function of them; each use gets a shallow copy |
 * | Guard folding: one global `RequestGuard` (authentication + role, rate limit, approval policy, body error), synchronous when the token is remembered | `src/request.guard.ts` (it composes feature guards, so it lives with the app, not in common) | in the −18% / −18-28% step above (Nest awaits each global guard in turn) | the contract's order of checks: 401/403, then 429, then the approval policy, then a body that could not be read |
 * | Verified tokens remembered (≤ 60 s, never past `exp`, ~4 MiB) | `auth/jwt-verifier.ts` | jose 8% → 0.5% of the profile (step 1.305 → 0.715 ms/get) | a token's verification depends only on the token and the keys; keys withdrawn take effect within 60 s (README) |
 * | No body machinery for a request that announces no body (no JSON parser, no body deadline timer) | `http/request-deadline.ts` (`announcesBody`), `http/deferred-body-parser.ts` | in the 1.655 → 1.305 and −18% steps | HTTP/1.1: a request without Content-Length or Transfer-Encoding has no body |
 *
 * Dropped here (issue 15, step 7), because the benchmark could not tell their gain from noise:
 * the prepared-statement cache of the embedded SQLite store (A/B of 2026-11-27 02:31: 288 vs 297
 * uncached pages/s, the cache the slower one, inside the noise; it also had to keep a statement
 * still iterating from being handed out twice), and the five Express middlewares folded into one
 * router layer (landed with another change, within the ±15% run-to-run noise; Express's walk over
 * its router layers is ~1% of a cached read's profile).
 */
export { deepFreeze, type Frozen } from './frozen';
export { serveFrozenJson, servedManyTimes } from './frozen-json';
export { memoKey, ValidatedMemo, VALIDATED_MEMO_MAX_ENTRIES } from './validated-memo';
