/**
 * Errors as PVE's API handlers raise them: a plain `die "msg\n"` (500) or a
 * `PVE::Exception` with its own code and optional per-parameter errors.
 *
 * @module
 */

/** An error a handler raises; the formatter turns it into status, reason and body. */
export class PveError extends Error {
  /** The HTTP status code. */
  readonly code: number;
  /** Per-parameter messages (`raise_param_exc`), sent as `errors` in the body. */
  readonly errors?: Record<string, string>;

  constructor(code: number, message: string, errors?: Record<string, string>) {
    super(message);
    this.name = "PveError";
    this.code = code;
    this.errors = errors;
  }
}

/** `die "msg\n"`: a 500 whose message keeps PVE's trailing newline. */
export function die(message: string): PveError {
  return new PveError(500, `${message}\n`);
}

/** `raise_param_exc({...})`: 400 `Parameter verification failed.` */
export function paramError(errors: Record<string, string>): PveError {
  return new PveError(400, "Parameter verification failed.\n", errors);
}

/** `raise_perm_exc("<path>, <priv>")`: 403 `Permission check failed (...)`. */
export function permError(path: string, privilege: string): PveError {
  return new PveError(403, `Permission check failed (${path}, ${privilege})\n`);
}

/** A task worker failure: the message becomes `TASK ERROR: <msg>` and the exit status. */
export class TaskFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskFailure";
  }
}
