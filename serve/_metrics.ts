/**
 * The server's counters, rendered in Prometheus' text format for `/metrics`.
 *
 * @module
 */

/** Upper bounds of the wake-duration histogram, in seconds. */
const WAKE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Counters and gauges of one server. */
export class ServeMetrics {
  #wakes = new Map<string, number>();
  #sleeps = new Map<string, number>();
  #errors = new Map<string, number>();
  #requests = new Map<string, number>();
  #runtimeRequests = 0;
  #wakeBuckets = new Array<number>(WAKE_BUCKETS.length).fill(0);
  #wakeCount = 0;
  #wakeSum = 0;
  /** Reads the number of sessions not yet ended. */
  activeSessions: () => number = () => 0;

  /** Counts a wake (a start or an unpause) of `instance`. */
  wake(instance: string): void {
    increment(this.#wakes, instance);
  }

  /** Counts a sleep (a stop or a pause) of `instance`. */
  sleep(instance: string): void {
    increment(this.#sleeps, instance);
  }

  /** Counts a failed runtime call about `instance`. */
  runtimeError(instance: string): void {
    increment(this.#errors, instance);
  }

  /** Counts a call to a runtime (not the event streams). */
  runtimeRequest(): void {
    this.#runtimeRequests++;
  }

  /** How many runtime calls were made so far. */
  get runtimeRequests(): number {
    return this.#runtimeRequests;
  }

  /** Counts a strategy request. */
  request(strategy: "dynamic" | "blocking", status: number): void {
    increment(this.#requests, `${strategy}\u0000${status}`);
  }

  /** Records how long a wake took, from its first request to ready. */
  wakeDuration(ms: number): void {
    const seconds = ms / 1000;
    this.#wakeCount++;
    this.#wakeSum += seconds;
    WAKE_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) this.#wakeBuckets[index]++;
    });
  }

  /** The metrics in Prometheus' text exposition format (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    family(lines, "idlewatcher_wakes_total", "counter", "Instances started or unpaused.");
    perInstance(lines, "idlewatcher_wakes_total", this.#wakes);
    family(lines, "idlewatcher_sleeps_total", "counter", "Instances stopped or paused.");
    perInstance(lines, "idlewatcher_sleeps_total", this.#sleeps);
    family(lines, "idlewatcher_runtime_errors_total", "counter", "Failed runtime calls.");
    perInstance(lines, "idlewatcher_runtime_errors_total", this.#errors);
    family(lines, "idlewatcher_runtime_requests_total", "counter", "Calls made to runtimes.");
    lines.push(`idlewatcher_runtime_requests_total ${this.#runtimeRequests}`);
    family(lines, "idlewatcher_active_sessions", "gauge", "Sessions not yet ended.");
    lines.push(`idlewatcher_active_sessions ${this.activeSessions()}`);
    family(lines, "idlewatcher_requests_total", "counter", "Strategy requests answered.");
    for (const [key, count] of this.#requests) {
      const [strategy, status] = key.split("\u0000");
      lines.push(
        `idlewatcher_requests_total{strategy="${strategy}",status="${status}"} ${count}`,
      );
    }
    const histogram = "idlewatcher_wake_duration_seconds";
    family(lines, histogram, "histogram", "From the first request of a wake to ready.");
    WAKE_BUCKETS.forEach((bound, index) => {
      lines.push(`${histogram}_bucket{le="${bound}"} ${this.#wakeBuckets[index]}`);
    });
    lines.push(`${histogram}_bucket{le="+Inf"} ${this.#wakeCount}`);
    lines.push(`${histogram}_sum ${this.#wakeSum}`);
    lines.push(`${histogram}_count ${this.#wakeCount}`);
    return lines.join("\n") + "\n";
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function family(lines: string[], name: string, type: string, help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function perInstance(lines: string[], name: string, map: Map<string, number>): void {
  for (const [instance, count] of map) {
    lines.push(`${name}{instance="${labelValue(instance)}"} ${count}`);
  }
}

/** Escapes a label value as the exposition format requires. */
function labelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
