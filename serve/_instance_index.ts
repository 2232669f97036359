/**
 * The managed instances by key, by name (aliases included) and by group.
 *
 * @module
 */

import type { Instance } from "./_instance.ts";

/** Lookup tables over the managed instances. */
export class InstanceIndex {
  #byKey = new Map<string, Instance>();
  #byName = new Map<string, Set<Instance>>();

  /**
   * Finds an instance by key.
   *
   * @param key `ENGINE/runtimeId`.
   * @returns The instance, if managed.
   */
  get(key: string): Instance | undefined {
    return this.#byKey.get(key);
  }

  /** Every instance. */
  all(): Instance[] {
    return [...this.#byKey.values()];
  }

  /**
   * Finds the instances a name (or alias) reaches, across engines.
   *
   * @param name The name.
   * @returns Zero, one, or several (one per engine).
   */
  byName(name: string): Instance[] {
    return [...this.#byName.get(name) ?? []];
  }

  /**
   * Lists a group's members.
   *
   * @param group The group.
   * @returns Its members.
   */
  group(group: string): Instance[] {
    return this.all().filter((instance) => instance.info.groups.includes(group));
  }

  /** Every group that has a member, sorted. */
  groups(): string[] {
    return [...new Set(this.all().flatMap((instance) => instance.info.groups))].sort();
  }

  /**
   * Adds an instance under its key, name and aliases.
   *
   * @param instance The instance.
   */
  add(instance: Instance): void {
    this.#byKey.set(instance.key, instance);
    for (const name of names(instance)) {
      let set = this.#byName.get(name);
      if (set === undefined) this.#byName.set(name, set = new Set());
      set.add(instance);
    }
  }

  /**
   * Removes an instance (before a rename, or when it is gone).
   *
   * @param instance The instance.
   */
  delete(instance: Instance): void {
    if (this.#byKey.get(instance.key) === instance) this.#byKey.delete(instance.key);
    for (const name of names(instance)) {
      const set = this.#byName.get(name);
      set?.delete(instance);
      if (set?.size === 0) this.#byName.delete(name);
    }
  }
}

function names(instance: Instance): string[] {
  return [instance.info.name, ...instance.info.aliases];
}
