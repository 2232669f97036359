/**
 * Errors as RFC 9457 problem details (`application/problem+json`), indented
 * so that a browser shows them readably: Sablier's plugins pass any answer
 * that is not a session to the user as it is.
 *
 * @module
 */

/** One problem's fields. */
export interface Problem {
  /** A URI naming the kind of problem. */
  type: string;
  /** A short summary. */
  title: string;
  /** The HTTP status. */
  status: number;
  /** What went wrong, for a person. */
  detail: string;
  /** Extra members. */
  [member: string]: unknown;
}

const TYPE_BASE = "https://github.com/idlewatcher/provider#errors-";

/**
 * Builds a problem.
 *
 * @param status The HTTP status.
 * @param id The problem's id (`validation-error`, `timeout`, ...).
 * @param title The summary.
 * @param detail The explanation.
 * @param extra Extra members.
 * @returns The problem.
 */
export function problem(
  status: number,
  id: string,
  fields: { title: string; detail: string; extra?: Record<string, unknown> },
): Problem {
  return {
    type: TYPE_BASE + id,
    title: fields.title,
    status,
    detail: fields.detail,
    ...fields.extra,
  };
}

/**
 * Turns a problem into a response.
 *
 * @param body The problem.
 * @param instance The request's path and query, as the problem's `instance`.
 * @returns A `application/problem+json` response with `Cache-Control: no-cache`.
 */
export function problemResponse(body: Problem, instance: string): Response {
  const shown = instance.length > 256 ? `${instance.slice(0, 256)}...` : instance;
  return new Response(JSON.stringify({ ...body, instance: shown }, null, 2) + "\n", {
    status: body.status,
    headers: {
      "content-type": "application/problem+json",
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    },
  });
}
