import assert from "node:assert/strict";
import { type CliWriter, main } from "../../cli.ts";
import { type FakePve, startFakePve } from "../_fakes/pve/mod.ts";
import { settledWithin, tempFile } from "./_cli.ts";

const TOKEN_ID = "idle@pve!main";
const SECRET = "3f1d9c0a-6b2e-4c8f-8e71-5a4b3c2d1e0f";
const ESC = "\x1b";
/** Back to the start of the line, and clear it. */
const ERASE = `\r${ESC}[K`;

/** A writer that keeps what it gets, and tells when a line arrives. */
class Collector implements CliWriter {
  text = "";
  #terminal: boolean;
  #lineArrived = Promise.withResolvers<void>();

  constructor(terminal = false) {
    this.#terminal = terminal;
  }

  write(bytes: Uint8Array): Promise<number> {
    this.text += new TextDecoder().decode(bytes);
    if (this.text.includes("\n")) this.#lineArrived.resolve();
    return Promise.resolve(bytes.length);
  }

  isTerminal(): boolean {
    return this.#terminal;
  }

  get firstLine(): Promise<void> {
    return this.#lineArrived.promise;
  }
}

async function withFakePve(
  body: (fake: FakePve, flags: string[]) => Promise<void>,
): Promise<void> {
  await using fake = await startFakePve({ authDelayMs: 0, statusBroadcastMs: 0 });
  fake.addNode("pve");
  fake.addCt("pve", 101, { name: "web" });
  fake.addToken(TOKEN_ID, SECRET);
  await using ca = await tempFile(fake.caCert);
  await body(fake, [
    "--url",
    fake.url,
    "--token-id",
    TOKEN_ID,
    "--secret",
    SECRET,
    "--ca-file",
    ca.path,
  ]);
}

Deno.test("main() draws progress for a long wait on a terminal only", async (t) => {
  await withFakePve(async (_fake, flags) => {
    for (const terminal of [true, false]) {
      await t.step(
        terminal ? "terminal: a progress line, erased at the end" : "pipe: none",
        async () => {
          const stdout = new Collector();
          const stderr = new Collector(terminal);
          const code = await main(
            ["proxmox", "pve/101", "wait", "running", "--timeout", "2.5", ...flags],
            { stdout, stderr },
          );
          assert.equal(code, 124);
          const progress = `${ERASE}waiting for pve/101 to be running (now stopped)… 1s`;
          if (terminal) {
            assert.ok(stderr.text.includes(progress), stderr.text);
            assert.ok(stderr.text.includes(`${ERASE}idlewatcher: Container "pve/101" did not`));
          } else {
            assert.ok(!stderr.text.includes(ESC), stderr.text);
          }
        },
      );
    }
  });
});

Deno.test("main() ends a watch with 0 when its signal aborts", async () => {
  await withFakePve(async (fake, flags) => {
    const controller = new AbortController();
    const stdout = new Collector();
    const stderr = new Collector();
    const running = main(["proxmox", "pve/101", "watch", ...flags], {
      signal: controller.signal,
      stdout,
      stderr,
    });
    // Flip the CT until the watch, which polls every second, reports it.
    for (let i = 0; i < 10 && stdout.text === ""; i++) {
      fake.setCt(101, { status: fake.ct(101)?.status === "running" ? "stopped" : "running" });
      await settledWithin(stdout.firstLine, 2500);
    }
    assert.match(stdout.text, /^\S+Z (started|stopped) web\n/);
    controller.abort();
    assert.equal(await running, 0);
    assert.doesNotMatch(stderr.text, /watch:/);
  });
});
