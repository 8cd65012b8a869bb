// The Extism kitchen test plugin: its export "everything" uses every function of Ferry's
// AssemblyScript wrapper (sdk-guest/assemblyscript) once against a real host, and reports
// what each returned as its output, one line each, for runtime/extism_test.go to compare.
// Build it with ./build.sh.

import {
  Checkpoint,
  input,
  JSONValue,
  lastSyncTime,
  Links,
  Log,
  Metadata,
  output,
  quote,
  Records,
  Request,
  run,
  SaveResult,
  triggerSync,
  bytes,
} from "@ferrysync/ferry-as";

const lines = new Array<string>();

function say(line: string): void {
  lines.push(line);
}

function counts(r: SaveResult): string {
  return r.added.toString() + " added, " + r.updated.toString() + " updated, " + r.unchanged.toString() +
    " unchanged, " + r.deleted.toString() + " deleted";
}

function orNull(s: string | null): string {
  return s === null ? "null" : s;
}

export function everything(): i32 {
  return run(body);
}

function body(): string | null {
  const in_ = JSONValue.parseString(input());
  if (in_ === null) return "input is not JSON";
  const hello = in_.get("hello");
  say("input hello: " + (hello === null ? "missing" : orNull(hello.str())));

  const md = Metadata.get();
  if (!md.ok) return md.error;
  say("metadata: " + md.value);
  const last = lastSyncTime();
  if (!last.ok) return last.error;
  say("last sync: " + orNull(last.value));

  const cp = Checkpoint.get();
  if (!cp.ok) return cp.error;
  say("checkpoint: " + orNull(cp.value));

  const got = Request.get("/items").param("q", "a b&c").header("X-Test", "yes").send();
  const resp = got.success();
  if (resp === null) return got.err();
  const items = resp.json();
  if (items === null) return "items are not JSON";
  say("GET /items: " + resp.status.toString() + ", " + items.count().toString() + " items, X-Echo-Query " +
    orNull(resp.header("x-echo-query")) + ", X-Echo-Test " + orNull(resp.header("X-Echo-Test")) +
    ", next " + orNull(resp.nextLink()));

  const posted = Request.get("/echo").json("{\"x\":\"é\"}");
  posted.method = "POST";
  const echo = posted.send();
  const echoed = echo.response;
  if (echoed === null) return echo.error;
  say("POST /echo: " + echoed.status.toString() + " " + echoed.text());

  const missing = Request.get("/missing").send();
  say("GET /missing: ok " + missing.ok.toString() + ", success " + (missing.success() !== null).toString() + ", err " + orNull(missing.err()));

  const saved = Records.save("Item", items.raw());
  if (!saved.ok) return saved.error;
  say("save: " + counts(saved.value));
  const refused = Records.saveJSON("Item", "[{\"no\":\"id\"}]");
  say("save refused: " + orNull(refused.error));
  const empty = Records.saveJSON("Item", "[ ]");
  say("save empty: " + counts(empty.value) + ", error " + orNull(empty.error));
  const patched = Records.update("Item", bytes("[{\"id\":\"a\",\"extra\":{\"deep\":true}}]"));
  if (!patched.ok) return patched.error;
  say("update: " + counts(patched.value));
  const cached = Records.get("Item", ["b", "a", "zzz"]);
  if (!cached.ok) return cached.error;
  say("get: " + cached.value);
  const deleted = Records.deleteIDs("Item", ["b", "zzz"]);
  if (!deleted.ok) return deleted.error;
  say("delete: " + counts(deleted.value));
  const deleted2 = Records.delete("Item", bytes("[{\"id\":\"a\",\"why\":\"gone\"}]"));
  if (!deleted2.ok) return deleted2.error;
  say("delete objects: " + counts(deleted2.value));

  let err = Checkpoint.save("{\"n\":1,\"s\":" + quote("<tab>\t\"q\"") + "}");
  if (err !== null) return err;
  const cp2 = Checkpoint.get();
  say("checkpoint saved: " + orNull(cp2.value));
  err = Checkpoint.clear();
  if (err !== null) return err;
  say("checkpoint cleared: " + orNull(Checkpoint.get().value));
  say("checkpoint refused: " + orNull(Checkpoint.save("[1]")));

  err = Metadata.set("{\"seen\":true}");
  if (err !== null) return err;
  say("metadata set: " + Metadata.get().value);

  err = Links.put("Item", "app-1", "a");
  if (err !== null) return err;
  const byApp = Links.byApp("Item", "app-1");
  const byExt = Links.byExternal("Item", "a");
  if (!byApp.ok) return byApp.error;
  if (!byExt.ok) return byExt.error;
  const l1 = byApp.value;
  const l2 = byExt.value;
  say("link by app: " + (l1 === null ? "none" : l1.appID + " -> " + l1.externalID) +
    "; by external: " + (l2 === null ? "none" : l2.appID + " -> " + l2.externalID));
  err = Links.delete("Item", "app-1");
  if (err !== null) return err;
  say("link deleted: " + (Links.byApp("Item", "app-1").value === null ? "none" : "still there"));

  say("trigger: " + orNull(triggerSync("other")));

  Log.debug("kitchen debug");
  Log.info("kitchen info");
  Log.warn("kitchen warn");
  Log.error("kitchen error");

  return output(lines.join("\n"));
}

/** Fails through the wrapper's run. */
export function failing(): i32 {
  return run((): string | null => "it failed on purpose");
}

/** An AssemblyScript abort, through the wrapper's abort handler. */
export function aborting(): i32 {
  const a = new Array<i32>(1);
  return a[5];
}
