import assert from "node:assert/strict";
import {
  DEFAULT_THEME,
  type LoadingPageData,
  type LoadingPageInstance,
  MAX_THEME_FILE,
  ThemeLoadError,
  ThemeRegistry,
} from "../../serve/_themes/mod.ts";

const BUILT_IN = ["ghost", "hacker-terminal", "matrix", "shuffle"];
const BYTES = new TextEncoder();

function data(overrides: Partial<LoadingPageData> = {}): LoadingPageData {
  return {
    displayName: "Wiki",
    instances: [
      { name: "wiki", status: "ready" },
      { name: "wiki-db", status: "not-ready" },
      { name: "wiki-search", status: "error", error: "daemon returned 500" },
    ],
    showDetails: true,
    refreshFrequencyMs: 5_000,
    sessionDurationMs: 300_000,
    ...overrides,
  };
}

function size(page: string): number {
  return BYTES.encode(page).length;
}

async function withThemesDir(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "idlewatcher-themes-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "ThemeRegistry.load() offers Sablier's four theme names, hacker-terminal the default",
  permissions: "none",
  async fn() {
    const themes = await ThemeRegistry.load();
    assert.deepEqual(themes.names(), BUILT_IN);
    assert.equal(DEFAULT_THEME, "hacker-terminal");
    for (const name of BUILT_IN) assert.ok(themes.has(name));
    assert.equal(themes.has("nope"), false);
    assert.equal(themes.has(""), false);
  },
});

Deno.test({
  name: "ThemeRegistry.render() makes a self-refreshing page that lists the instances",
  permissions: "none",
  async fn(t) {
    const themes = await ThemeRegistry.load();
    for (const name of BUILT_IN) {
      await t.step(name, () => {
        const page = themes.render(name, data());
        assert.match(page, /^<!DOCTYPE html>/);
        assert.match(page, /<meta http-equiv="refresh" content="5">/);
        assert.match(page, /<meta name="robots" content="noindex, nofollow">/);
        assert.ok(page.includes("Wiki"));
        assert.ok(page.includes("5 minutes"));
        assert.ok(page.includes('class="iw-page-error"'));
        assert.ok(page.includes("1 of 3 ready") || page.includes("1/3"));
        assert.ok(
          page.includes(
            '<li class="iw-instance iw-is-ready"><span class="iw-name">wiki</span>' +
              '<span class="iw-status">ready</span></li>',
          ),
        );
        assert.ok(
          page.includes(
            '<li class="iw-instance iw-is-not-ready"><span class="iw-name">wiki-db</span>',
          ),
        );
        assert.ok(page.includes('<span class="iw-reason">daemon returned 500</span>'));
        assert.ok(!page.includes("{{"), "no placeholder is left");
        assert.ok(!/<script/i.test(page), "a loading page runs no script");
      });
    }
    await t.step("the instances are hidden without show_details", () => {
      for (const name of BUILT_IN) {
        const page = themes.render(name, data({ showDetails: false }));
        assert.ok(!page.includes('<ul class="iw-instances"'));
        assert.ok(!page.includes("wiki-db"));
        assert.ok(!page.includes("daemon returned 500"));
      }
    });
    await t.step("the refresh is whole seconds, at least one", () => {
      const refresh = (ms: number) =>
        themes.render(DEFAULT_THEME, data({ refreshFrequencyMs: ms }))
          .match(/http-equiv="refresh" content="(\d+)"/)?.[1];
      assert.equal(refresh(500), "1");
      assert.equal(refresh(0), "1");
      assert.equal(refresh(2_400), "2");
      assert.equal(refresh(60_000), "60");
    });
    await t.step("the session duration is said in words", () => {
      const said = (ms: number) => themes.render("ghost", data({ sessionDurationMs: ms }));
      assert.ok(said(5_400_000).includes("1 hour 30 minutes"));
      assert.ok(said(1_000).includes("1 second"));
      assert.ok(said(90_061_000).includes("1 day 1 hour"));
      assert.ok(said(500).includes("less than a second"));
    });
    await t.step("ready when every instance is", () => {
      const page = themes.render(
        "matrix",
        data({ instances: [{ name: "a", status: "ready" }, { name: "b", status: "ready" }] }),
      );
      assert.ok(page.includes('class="iw-page-ready"'));
    });
    await t.step("an empty display name reads as your service", () => {
      assert.ok(themes.render("shuffle", data({ displayName: "  " })).includes("your service"));
    });
  },
});

Deno.test({
  name: "ThemeRegistry.render() escapes every value",
  permissions: "none",
  async fn(t) {
    const themes = await ThemeRegistry.load();
    const hostile = '<script>alert("x")</script>&\'';
    for (const name of BUILT_IN) {
      await t.step(name, () => {
        const page = themes.render(name, {
          ...data(),
          displayName: hostile,
          instances: [{ name: hostile, status: "error", error: `${hostile}\u001b[31m` }],
        });
        assert.ok(!page.includes("<script"));
        assert.ok(!page.includes('"x"'));
        assert.ok(!page.includes("\u001b"));
        assert.ok(page.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
      });
    }
    await t.step("a status outside the three is shown as starting", () => {
      const odd = { name: "a", status: '"><b>' } as unknown as LoadingPageInstance;
      const page = themes.render(DEFAULT_THEME, data({ instances: [odd] }));
      assert.ok(page.includes('<li class="iw-instance iw-is-not-ready">'));
      assert.ok(!page.includes("<b>"));
    });
  },
});

Deno.test({
  name:
    "ThemeRegistry.render() keeps every page under 32 KiB, counting the instances it leaves out",
  permissions: "none",
  async fn(t) {
    const themes = await ThemeRegistry.load();
    const cases: [string, LoadingPageInstance[]][] = [
      [
        "10,000 short names",
        Array.from({ length: 10_000 }, (_, i) => ({ name: `app-${i}`, status: "not-ready" })),
      ],
      [
        "200 long names with errors",
        Array.from({ length: 200 }, (_, i) => ({
          name: `${"<&>".repeat(200)}${i}`,
          status: "error",
          error: `"${"é".repeat(4_000)}"`,
        })),
      ],
      [
        "60 four-byte names",
        Array.from({ length: 60 }, () => ({ name: "🦕".repeat(500), status: "ready" })),
      ],
    ];
    for (const [label, instances] of cases) {
      for (const name of BUILT_IN) {
        await t.step(`${label}, ${name}`, () => {
          const page = themes.render(name, data({ instances, displayName: "&".repeat(100_000) }));
          assert.ok(size(page) < 32 * 1024, `${size(page)} bytes`);
          const listed = page.match(/<li class="iw-instance /g)?.length ?? 0;
          assert.ok(listed >= 1 && listed <= 50, `${listed} listed`);
          const more = Number(page.match(/and (\d+) more instances?<\/li>/)?.[1]);
          assert.equal(listed + more, instances.length);
        });
      }
    }
    await t.step("50 instances are listed whole when they fit", () => {
      const instances = Array.from(
        { length: 50 },
        (_, i) => ({ name: `app-${i}`, status: "ready" as const }),
      );
      const page = themes.render(DEFAULT_THEME, data({ instances }));
      assert.equal(page.match(/<li class="iw-instance /g)?.length, 50);
      assert.ok(!page.includes('<li class="iw-more"'));
    });
  },
});

Deno.test({
  name: "ThemeRegistry.render() refuses an unknown theme",
  permissions: "none",
  async fn() {
    const themes = await ThemeRegistry.load();
    assert.throws(() => themes.render("nope", data()), (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, 'Unknown theme "nope"');
      return true;
    });
  },
});

const CUSTOM = `<!DOCTYPE html><html><head>
<meta http-equiv="refresh" content="{{ refreshSeconds }}"><title>{{displayName}}</title></head>
<body class="{{status}}"><h1>{{displayName}}</h1><p>{{readyCount}}/{{instanceCount}}, {{sessionDuration}}</p>
{{instancesHtml}}</body></html>`;

Deno.test({
  name: "ThemeRegistry.load() reads custom themes with placeholders from a directory",
  permissions: { read: true, write: true },
  async fn(t) {
    await t.step("placeholders are filled and escaped", async () => {
      await withThemesDir({ "mine.html": CUSTOM, "notes.txt": "ignored" }, async (dir) => {
        const themes = await ThemeRegistry.load({ dir });
        assert.deepEqual(themes.names(), [...BUILT_IN, "mine"].sort());
        const page = themes.render("mine", data({ displayName: "<Wiki>" }));
        assert.ok(page.includes('<meta http-equiv="refresh" content="5">'));
        assert.ok(page.includes("<title>&lt;Wiki&gt;</title>"));
        assert.ok(page.includes('<body class="error">'));
        assert.ok(page.includes("<p>1/3, 5 minutes</p>"));
        assert.ok(page.includes('<ul class="iw-instances">'));
      });
    });
    await t.step("Sablier's Go-template names for the simple values are read too", async () => {
      const sablier = '<meta http-equiv="refresh" content="{{ .RefreshFrequency }}">' +
        "<h1>{{ .DisplayName }}</h1><p>{{ .SessionDuration }}</p>";
      await withThemesDir({ "old.html": sablier }, async (dir) => {
        const page = (await ThemeRegistry.load({ dir })).render("old", data());
        assert.equal(page, '<meta http-equiv="refresh" content="5"><h1>Wiki</h1><p>5 minutes</p>');
      });
    });
    await t.step("a custom theme named as a built-in one replaces it", async () => {
      await withThemesDir({ "ghost.html": "<p>{{displayName}}</p>" }, async (dir) => {
        const themes = await ThemeRegistry.load({ dir });
        assert.equal(themes.render("ghost", data()), "<p>Wiki</p>");
        assert.deepEqual(themes.names(), BUILT_IN);
      });
    });
    await t.step("a link inside the directory is followed", async () => {
      await withThemesDir({ "real.txt": "<p>{{displayName}}</p>" }, async (dir) => {
        await Deno.symlink(`${dir}/real.txt`, `${dir}/linked.html`);
        assert.equal((await ThemeRegistry.load({ dir })).render("linked", data()), "<p>Wiki</p>");
      });
    });
  },
});

Deno.test({
  name: "ThemeRegistry.load() refuses a custom theme it cannot serve safely",
  permissions: { read: true, write: true },
  async fn(t) {
    const refused = async (files: Record<string, string>, message: RegExp, link?: string) => {
      await withThemesDir(files, async (dir) => {
        if (link) await Deno.symlink(link, `${dir}/outside.html`);
        await assert.rejects(ThemeRegistry.load({ dir }), (error: Error) => {
          assert.ok(error instanceof ThemeLoadError, String(error));
          assert.match(error.message, message);
          assert.ok(error.file.startsWith("/"));
          return true;
        });
      });
    };
    await t.step("an unknown placeholder, named with its line", () =>
      refused(
        { "bad.html": "<p>\n{{ secret }}</p>" },
        /bad\.html": Unknown placeholder "\{\{ secret \}\}" on line 2: a theme may use only \{\{displayName\}\}/,
      ));
    await t.step(
      "Go template code",
      () =>
        refused(
          { "go.html": "{{- range $i, $x := .InstanceStates }}{{ end -}}" },
          /Unknown placeholder "\{\{- range/,
        ),
    );
    await t.step(
      "an unclosed placeholder",
      () => refused({ "open.html": "<p>{{displayName" }, /Unknown placeholder/),
    );
    await t.step(
      "a file over the size limit",
      () => refused({ "big.html": "x".repeat(MAX_THEME_FILE + 1) }, /over 24 KiB/),
    );
    await t.step(
      "a page that could exceed 31 KiB",
      () => refused({ "echo.html": "{{displayName}}".repeat(1_500) }, /could exceed 31 KiB/),
    );
    await t.step(
      "a bad name",
      () => refused({ "my theme.html": "<p></p>" }, /a theme name is 1 to 64/),
    );
    await t.step(
      "a link outside the directory",
      () => refused({}, /links outside the themes directory/, "/etc/hostname"),
    );
    await t.step("a missing directory", async () => {
      await assert.rejects(
        ThemeRegistry.load({ dir: "/nonexistent/themes" }),
        Deno.errors.NotFound,
      );
    });
    await t.step("an aborted load", async () => {
      await withThemesDir({ "a.html": "<p></p>" }, async (dir) => {
        const controller = new AbortController();
        controller.abort(new Error("stop"));
        await assert.rejects(ThemeRegistry.load({ dir, signal: controller.signal }), /stop/);
      });
    });
  },
});
