/**
 * Runs `body` with environment variables replaced (`undefined` unsets one),
 * restoring the previous values afterwards, also when `body` throws.
 *
 * @param vars The variables to set or unset for the duration of `body`.
 * @param body What to run.
 * @returns What `body` returns.
 */
export function withEnv<T>(vars: Record<string, string | undefined>, body: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, Deno.env.get(key)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) Deno.env.delete(key);
      else Deno.env.set(key, value);
    }
  };
  apply(vars);
  try {
    return body();
  } finally {
    apply(saved);
  }
}
