/**
 * Sessions on disk: one JSON file in the state directory, replaced whole by
 * an atomic rename after an fsync, so that a crash (even `kill -9`) leaves
 * either the old file or the new one.
 *
 * Each saved session end is a lease a little past the real end, so that a
 * request that only moves the end forward inside the lease writes nothing:
 * the ready path stays free of disk writes, and a restart never stops an
 * instance before its session ends. The slack is a tenth of the session,
 * at most 30 s; an idle instance is stopped at most that late after a crash.
 *
 * @module
 */

const FILE_NAME = "sessions.json";
const MAX_SLACK_MS = 30_000;

/** One saved session. */
export interface SavedSession {
  /** The instance's name, for people reading the file. */
  name: string;
  /** When the session ends at the latest, in ms since the epoch. */
  until: number;
}

/** The file's content. */
interface StateFile {
  version: 1;
  sessions: Record<string, SavedSession>;
}

/** Sessions kept in a directory; without a directory, nothing is written. */
export class SessionStore {
  readonly #dir: string | undefined;
  #sessions = new Map<string, SavedSession>();
  #writing: Promise<void> | undefined;
  #dirty = false;
  #onError: (error: unknown) => void;

  /**
   * Creates a store.
   *
   * @param dir The state directory; `undefined` keeps sessions in memory only.
   * @param onError Receives a failed write (the next change writes again).
   */
  constructor(dir: string | undefined, onError: (error: unknown) => void) {
    this.#dir = dir;
    this.#onError = onError;
  }

  /**
   * Reads the saved sessions. A missing file is no session; an unreadable
   * one is reported and ignored.
   *
   * @returns The sessions by instance key.
   */
  async load(): Promise<Map<string, SavedSession>> {
    if (this.#dir === undefined) return new Map();
    await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return new Map();
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<StateFile>;
      for (const [key, value] of Object.entries(parsed.sessions ?? {})) {
        if (typeof value?.until === "number" && typeof value?.name === "string") {
          this.#sessions.set(key, { name: value.name, until: value.until });
        }
      }
    } catch (error) {
      this.#onError(new Error(`Cannot read ${this.#path}: ${(error as Error).message}`));
    }
    return new Map(this.#sessions);
  }

  /**
   * Records that `key`'s session lasts until `until`. Writes (and resolves
   * after the write) only when `until` passes the saved lease.
   *
   * @param key The instance key.
   * @param session The name and the end of the session.
   * @param now The current time, in ms since the epoch.
   * @returns `undefined` when nothing needed writing, else the write.
   */
  extend(key: string, session: SavedSession, now: number): Promise<void> | undefined {
    const saved = this.#sessions.get(key);
    if (saved !== undefined && saved.until >= session.until) return undefined;
    const slack = Math.min(MAX_SLACK_MS, Math.max(0, (session.until - now) / 10));
    this.#sessions.set(key, { name: session.name, until: Math.ceil(session.until + slack) });
    return this.#write();
  }

  /** Forgets `key`'s session (it ended, or the instance is gone). */
  remove(key: string): void {
    if (this.#sessions.delete(key)) this.#write().catch(() => {});
  }

  /** Waits for the writes in progress; resolves when the file holds every change. */
  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing.catch(() => {});
  }

  get #path(): string {
    return `${this.#dir}/${FILE_NAME}`;
  }

  /** Writes the file, once at a time; changes made during a write cause one more. */
  #write(): Promise<void> {
    if (this.#dir === undefined) return Promise.resolve();
    this.#dirty = true;
    if (this.#writing !== undefined) return this.#writing; // Its loop sees the new change.
    const writing = (async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          await this.#writeOnce();
        }
      } catch (error) {
        this.#onError(error);
        throw error;
      } finally {
        this.#writing = undefined;
      }
    })();
    this.#writing = writing;
    return writing;
  }

  async #writeOnce(): Promise<void> {
    const file: StateFile = { version: 1, sessions: Object.fromEntries(this.#sessions) };
    const temporary = `${this.#path}.${crypto.randomUUID()}.tmp`;
    try {
      using handle = await Deno.open(temporary, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
      const bytes = new TextEncoder().encode(JSON.stringify(file));
      let written = 0;
      while (written < bytes.length) written += await handle.write(bytes.subarray(written));
      await handle.sync();
      await Deno.rename(temporary, this.#path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw error;
    }
  }
}
