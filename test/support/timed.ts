/** Awaits `work` and says how long it took: the fault tests bound how long a failure takes. */
export async function timed<T>(work: PromiseLike<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}
