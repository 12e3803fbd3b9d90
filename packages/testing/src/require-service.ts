/**
 * Gate for tests that need a real service. Under CI (`CI=true`) an unreachable service is an error, so a
 * broken CI machine fails loudly instead of passing with everything skipped; elsewhere the tests are
 * skipped with a one-line reason.
 */

export function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * Resolve undefined when `probe` succeeds within `timeoutMs`; otherwise resolve a skip reason, or (under
 * CI) reject with an error naming the service.
 */
export async function requireService(
  label: string,
  probe: () => Promise<unknown>,
  options: { timeoutMs?: number } = {},
): Promise<string | undefined> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (error) {
    const reason = `${label} is not reachable: ${(error as Error).message}`;
    if (isCi()) throw new Error(`${reason} (CI=true requires it)`);
    return reason;
  } finally {
    clearTimeout(timer);
  }
}
