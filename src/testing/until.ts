/**
 * Polling for a condition with a deadline, for tests that wait on a real
 * process: a probe that throws counts as "not yet".
 */

/** Resolves with the first non-null value `probe` gives; rejects with `what`, the deadline and `diag()` once `deadlineMs` has passed. */
export async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | null>, diag: () => string, pollMs = 250): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`${what} within ${deadlineMs / 1000} s\n${diag()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
