/**
 * The engine's refusals, each mapped by the HTTP layer to one problem type.
 *
 * @module
 */

/** A name that no engine manages (unknown, or not opted in: the two are answered alike). */
export class UnknownInstanceError extends Error {
  /** The name asked for. */
  readonly instance: string;

  /**
   * @param instance The name asked for.
   */
  constructor(instance: string) {
    super(`No managed instance is named ${JSON.stringify(instance)}`);
    this.name = "UnknownInstanceError";
    this.instance = instance;
  }
}

/** A group no managed instance belongs to. */
export class UnknownGroupError extends Error {
  /** The group asked for. */
  readonly group: string;
  /** The groups that exist. */
  readonly availableGroups: string[];

  /**
   * @param group The group asked for.
   * @param availableGroups The groups that exist.
   */
  constructor(group: string, availableGroups: string[]) {
    super(`No managed instance is in the group ${JSON.stringify(group)}`);
    this.name = "UnknownGroupError";
    this.group = group;
    this.availableGroups = availableGroups;
  }
}

/** A name found on several engines. */
export class AmbiguousInstanceError extends Error {
  /** The name asked for. */
  readonly instance: string;
  /** The `ENGINE/name` forms that would pick one. */
  readonly candidates: string[];

  /**
   * @param instance The name asked for.
   * @param candidates The `ENGINE/name` forms that would pick one.
   */
  constructor(instance: string, candidates: string[]) {
    super(
      `The name ${JSON.stringify(instance)} is on several engines (${
        candidates.join(", ")
      }); ask for one of them as ENGINE/name`,
    );
    this.name = "AmbiguousInstanceError";
    this.instance = instance;
    this.candidates = candidates;
  }
}
