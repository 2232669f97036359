/**
 * Opens the {@linkcode Provider} a command line names, with settings from its
 * flags and, for what they leave open, the environment.
 *
 * @module
 */

import type { Logger, Provider } from "../mod.ts";
import { type DockerProviderConfig, newDockerProvider } from "../docker/mod.ts";
import { newProxmoxProvider, type ProxmoxConfig } from "../proxmox/mod.ts";
import { type Invocation, type ProxmoxFlags, UsageError } from "./_args.ts";

/**
 * Opens the provider of `invocation`'s target. Docker's provider resolves
 * `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` itself; Proxmox
 * settings missing from the flags come from `PROXMOX_*` variables.
 *
 * @param invocation The parsed command line.
 * @param logger Where the provider logs.
 * @param signal Aborts the opening.
 * @returns The provider; the caller closes it.
 */
export async function openProvider(
  invocation: Invocation,
  logger: Logger,
  signal: AbortSignal,
): Promise<Provider> {
  const { target } = invocation;
  if (target.runtime === "docker") {
    const { host, socket, tlsCa, tlsCert, tlsKey } = invocation.docker;
    const config: DockerProviderConfig = { logger };
    if (host !== undefined) config.url = host;
    if (socket !== undefined) config.socketPath = socket;
    if (tlsCa !== undefined || tlsCert !== undefined || tlsKey !== undefined) {
      config.tls = { caFile: tlsCa, certFile: tlsCert, keyFile: tlsKey };
    }
    return newDockerProvider(config, target.container);
  }
  const config = proxmoxConfig(invocation.proxmox, logger);
  return await newProxmoxProvider(target.node, target.vmid, { config, signal });
}

/** Reads a `PROXMOX_*` variable; an empty value counts as unset. */
function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch (error) {
    throw new Error(`Cannot read the Proxmox settings from the environment (${name})`, {
      cause: error,
    });
  }
}

/**
 * The Proxmox configuration: each flag, else its `PROXMOX_*` variable. The
 * flags pick the kind of credentials: with `--token-id` or `--secret`, the
 * user and password variables are ignored, and the other way round.
 */
function proxmoxConfig(flags: ProxmoxFlags, logger: Logger): ProxmoxConfig {
  const url = flags.url ?? env("PROXMOX_URL");
  if (url === undefined) {
    throw new UsageError("Missing the Proxmox API URL: pass --url or set PROXMOX_URL");
  }
  const tokenFlags = flags.tokenId !== undefined || flags.secret !== undefined;
  const userFlags = flags.username !== undefined || flags.password !== undefined;
  const config: ProxmoxConfig = { url, logger };
  const tokenId = flags.tokenId ?? (userFlags ? undefined : env("PROXMOX_TOKEN_ID"));
  const secret = flags.secret ?? (userFlags ? undefined : env("PROXMOX_SECRET"));
  const username = flags.username ?? (tokenFlags ? undefined : env("PROXMOX_USERNAME"));
  const password = flags.password ?? (tokenFlags ? undefined : env("PROXMOX_PASSWORD"));
  if (tokenId !== undefined) config.tokenId = tokenId;
  if (secret !== undefined) config.secret = secret;
  if (username !== undefined) config.username = username;
  if (password !== undefined) config.password = password;
  const realm = flags.realm ??
    (username === undefined || username.includes("@") ? undefined : env("PROXMOX_REALM"));
  if (realm !== undefined) config.realm = realm;
  const caFile = flags.caFile ?? env("PROXMOX_CA_FILE");
  if (caFile !== undefined) config.caFile = caFile;
  checkCredentials(config);
  return config;
}

/** Names the flag or variable a missing credential comes from, before the library sees it. */
function checkCredentials(config: ProxmoxConfig): void {
  const { tokenId, secret, username, password } = config;
  if (tokenId !== undefined && secret === undefined) {
    throw new UsageError(
      `Missing the secret of token ${tokenId}: set PROXMOX_SECRET (or pass --secret)`,
    );
  }
  if (secret !== undefined && tokenId === undefined) {
    throw new UsageError("Missing the token id: pass --token-id or set PROXMOX_TOKEN_ID");
  }
  if (username !== undefined && password === undefined) {
    throw new UsageError(
      `Missing the password of ${username}: set PROXMOX_PASSWORD (or pass --password)`,
    );
  }
  if (password !== undefined && username === undefined) {
    throw new UsageError("Missing the user: pass --username or set PROXMOX_USERNAME");
  }
  if (tokenId !== undefined && username !== undefined) {
    throw new UsageError(
      "Give either an API token (--token-id, PROXMOX_TOKEN_ID) or a user " +
        "(--username, PROXMOX_USERNAME), not both",
    );
  }
  if (tokenId === undefined && username === undefined) {
    throw new UsageError(
      "Missing the Proxmox credentials: an API token (--token-id and PROXMOX_SECRET) " +
        "or a user (--username and PROXMOX_PASSWORD)",
    );
  }
}
