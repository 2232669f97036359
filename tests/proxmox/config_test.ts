import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../errors.ts";
import { newProxmoxProvider, ProxmoxClient, type ProxmoxConfig } from "../../proxmox/mod.ts";

const SECRET = "5f1c8a2e-9d4b-4c1e-8f7a-3b2d1e0c9a87";
const TOKEN: ProxmoxConfig = {
  url: "https://127.0.0.1:1",
  tokenId: "idle@pve!watcher",
  secret: SECRET,
};

Deno.test("ProxmoxClient() rejects an unusable config before any request", async (t) => {
  const cases: [string, ProxmoxConfig][] = [
    ["plain http", { ...TOKEN, url: "http://pve:8006" }],
    ["no url", { ...TOKEN, url: "" }],
    ["credentials in the url", { ...TOKEN, url: "https://root:pw@pve:8006" }],
    ["a query in the url", { ...TOKEN, url: "https://pve:8006/?x=1" }],
    ["no credentials", { url: "https://pve:8006" }],
    ["a token and a password", { ...TOKEN, username: "root@pam", password: "pw" }],
    ["a token id without a token name", { ...TOKEN, tokenId: "idle@pve" }],
    ["a token without its secret", { url: "https://pve:8006", tokenId: "idle@pve!w" }],
    ["a user without a password", { url: "https://pve:8006", username: "root" }],
    ["a realm given twice", {
      url: "https://pve:8006",
      username: "root@pam",
      password: "pw",
      realm: "pve",
    }],
    ["a zero timeout", { ...TOKEN, timeout: 0 }],
    ["a negative watch interval", { ...TOKEN, watchInterval: -1 }],
    ["a watch interval of 1e-9 s, below the 0.1 s minimum", { ...TOKEN, watchInterval: 1e-9 }],
    ["a watch interval of 0.05 s", { ...TOKEN, watchInterval: 0.05 }],
    ["maxConnections 0", { ...TOKEN, maxConnections: 0 }],
    ["maxConnections 1.5", { ...TOKEN, maxConnections: 1.5 }],
    ["caCerts not strings", { ...TOKEN, caCerts: [1 as unknown as string] }],
  ];
  for (const [name, config] of cases) {
    await t.step(name, () => {
      assert.throws(() => new ProxmoxClient(config), InvalidArgumentError);
    });
  }
});

Deno.test("ProxmoxClient() never echoes a secret in a config error", () => {
  const secret = "not a valid secret";
  assert.throws(
    () => new ProxmoxClient({ ...TOKEN, secret }),
    (error: Error) => error instanceof InvalidArgumentError && !error.message.includes(secret),
  );
});

Deno.test("ProxmoxClient.url is the API root, with or without the /api2/json suffix", async (t) => {
  const cases: [string, string][] = [
    ["https://pve.example:8006", "https://pve.example:8006/api2/json"],
    ["https://pve.example:8006/", "https://pve.example:8006/api2/json"],
    ["https://pve.example:8006/api2/json", "https://pve.example:8006/api2/json"],
    ["https://pve.example:8006/api2/json/", "https://pve.example:8006/api2/json"],
    ["https://proxy.example/pve", "https://proxy.example/pve/api2/json"],
  ];
  for (const [url, expected] of cases) {
    await t.step(url, () => {
      using client = new ProxmoxClient({ ...TOKEN, url });
      assert.equal(client.url, expected);
    });
  }
});

Deno.test("ProxmoxClient never shows credentials in JSON.stringify or Deno.inspect", async (t) => {
  const configs: [string, ProxmoxConfig, string][] = [
    ["token", TOKEN, SECRET],
    ["password", { url: "https://pve:8006", username: "root", password: "hunter2pw" }, "hunter2pw"],
  ];
  for (const [name, config, secret] of configs) {
    await t.step(name, () => {
      using client = new ProxmoxClient(config);
      assert.ok(!JSON.stringify(client).includes(secret));
      assert.ok(!Deno.inspect(client, { showHidden: true, depth: Infinity }).includes(secret));
    });
  }
});

Deno.test("ProxmoxClient.fromEnv() reads the PROXMOX_* variables", async (t) => {
  const names = [
    "PROXMOX_URL",
    "PROXMOX_TOKEN_ID",
    "PROXMOX_SECRET",
    "PROXMOX_USERNAME",
    "PROXMOX_PASSWORD",
    "PROXMOX_REALM",
    "PROXMOX_CA_FILE",
  ];
  const saved = new Map(names.map((name) => [name, Deno.env.get(name)]));
  const set = (values: Record<string, string>) => {
    for (const name of names) {
      if (values[name] === undefined) Deno.env.delete(name);
      else Deno.env.set(name, values[name]);
    }
  };
  try {
    await t.step("token", () => {
      set({
        PROXMOX_URL: "https://pve.example:8006",
        PROXMOX_TOKEN_ID: "idle@pve!w",
        PROXMOX_SECRET: SECRET,
      });
      using client = ProxmoxClient.fromEnv();
      assert.equal(client.url, "https://pve.example:8006/api2/json");
    });
    await t.step("user, realm and CA file", () => {
      set({
        PROXMOX_URL: "https://pve.example:8006",
        PROXMOX_USERNAME: "idle",
        PROXMOX_PASSWORD: "pw",
        PROXMOX_REALM: "pve",
        PROXMOX_CA_FILE: "/nonexistent/pve-root-ca.pem",
      });
      using client = ProxmoxClient.fromEnv();
      assert.equal(client.url, "https://pve.example:8006/api2/json");
    });
    await t.step("no url", () => {
      set({ PROXMOX_TOKEN_ID: "idle@pve!w", PROXMOX_SECRET: SECRET });
      assert.throws(() => ProxmoxClient.fromEnv(), /PROXMOX_URL/);
    });
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});

Deno.test("newProxmoxProvider() checks its arguments before any request", async (t) => {
  // 127.0.0.1:1 refuses connections: an argument error proves nothing was sent.
  const cases: [string, string, number][] = [
    ["vmid below 100", "pve", 99],
    ["vmid above 999999999", "pve", 1_000_000_000],
    ["fractional vmid", "pve", 101.5],
    ["NaN vmid", "pve", NaN],
    ["node with an underscore", "pve_1", 101],
    ["node starting with a dash", "-pve", 101],
    ["node label too long", "a".repeat(64), 101],
  ];
  for (const [name, node, vmid] of cases) {
    await t.step(name, async () => {
      await assert.rejects(newProxmoxProvider(node, vmid, { config: TOKEN }), InvalidArgumentError);
    });
  }
  await t.step("both a client and a config", async () => {
    using client = new ProxmoxClient(TOKEN);
    await assert.rejects(
      newProxmoxProvider("pve", 101, { client, config: TOKEN }),
      InvalidArgumentError,
    );
  });
  await t.step("a zero actionTimeout", async () => {
    await assert.rejects(
      newProxmoxProvider("pve", 101, { config: TOKEN, actionTimeout: 0 }),
      InvalidArgumentError,
    );
  });
});
