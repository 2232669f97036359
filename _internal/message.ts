/**
 * The message of anything thrown, for log lines and answers.
 *
 * @module
 */

/**
 * Gives the message of an error, without its stack.
 *
 * @param error Anything thrown.
 * @returns Its message.
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
