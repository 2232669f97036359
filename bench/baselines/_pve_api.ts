/**
 * A plain PVE API caller for the baselines: `fetch` with the cluster's CA and
 * an API token, answering the `data` of the reply. Nothing else.
 *
 * @module
 */

/** Where the API is and how to authenticate. */
export interface PveApiOptions {
  /** `https://host:port` (without `/api2/json`). */
  url: string;
  /** PEM of the cluster's CA. */
  caCert: string;
  /** `user@realm!name`. */
  tokenId: string;
  /** The token's secret. */
  secret: string;
}

/** GET and POST on a PVE API, the way a straightforward client does it. */
export class PveApi implements Disposable {
  readonly #client: Deno.HttpClient;
  readonly #base: string;
  readonly #auth: string;

  constructor(options: PveApiOptions) {
    this.#client = Deno.createHttpClient({ caCerts: [options.caCert] });
    this.#base = `${options.url}/api2/json`;
    this.#auth = `PVEAPIToken=${options.tokenId}=${options.secret}`;
  }

  /** Sends a request; resolves the reply's `data`, rejects on a non-2xx status. */
  async request<T>(method: "GET" | "POST", path: string, signal?: AbortSignal): Promise<T> {
    const response = await fetch(`${this.#base}${path}`, {
      method,
      headers: { Authorization: this.#auth },
      client: this.#client,
      signal: signal ?? AbortSignal.timeout(30_000),
    });
    const body = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${path}: ${response.status} ${response.statusText}`);
    }
    return (JSON.parse(body) as { data: T }).data;
  }

  [Symbol.dispose](): void {
    this.#client.close();
  }
}
