// Ferry's host functions, typed. AssemblyScript has no exceptions, so a call that can fail
// returns its error as a string (null on success), alone or beside its value.

import { bytes, call, Op, Reply } from "./host";
import { JSONValue, Kind, quote, quoteAll } from "./json";

/** A value, or the reason there is none. */
export class Result<T> {
  constructor(
    /** The value; meaningful only when ok. */
    public readonly value: T,
    /** The error message; null on success. */
    public readonly error: string | null,
  ) {}

  get ok(): bool {
    return this.error === null;
  }
}

function failed(what: string, reply: Reply): string {
  return "ferry: " + what + ": " + (reply.error as string);
}

/** null when reply is a success, else the error message naming what failed. */
function status(what: string, reply: Reply): string | null {
  if (reply.ok) return null;
  return failed(what, reply);
}

// ---- logging

/** Log lines go to the run's log, at the level given. */
export class Log {
  static debug(message: string): void {
    call(Op.Log, "debug\n" + message);
  }
  static info(message: string): void {
    call(Op.Log, "info\n" + message);
  }
  static warn(message: string): void {
    call(Op.Log, "warn\n" + message);
  }
  static error(message: string): void {
    call(Op.Log, "error\n" + message);
  }
}

// ---- input, output, failure

/** The call's input: an action's JSON input; a webhook's request; "{}" for syncs. */
export function input(): string {
  const text = call(Op.Input, null).text();
  return text === null ? "{}" : text;
}

/** Sets the call's output: an action's JSON result, a webhook handler's response body. */
export function output(data: string): string | null {
  const reply = call(Op.Output, null, bytes(data));
  return status("output", reply);
}

/** Fails the call with message; returns 1, for `return fail("...")` in an export. */
export function fail(message: string): i32 {
  call(Op.Fail, null, bytes(message));
  return 1;
}

/**
 * Runs fn as an export's body: returns 0 when fn returns null, else fails the call with the
 * message fn returned and returns 1.
 *
 *     export function sync_contacts(): i32 { return run(syncContacts); }
 */
export function run(fn: () => string | null): i32 {
  const err = fn();
  return err === null ? 0 : fail(err);
}

// ---- records

/** What a save did to the cache. */
export class SaveResult {
  added: i64 = 0;
  updated: i64 = 0;
  unchanged: i64 = 0;
  deleted: i64 = 0;
}

function counts(reply: Reply): SaveResult {
  const res = new SaveResult();
  const data = reply.data;
  if (data === null) return res;
  const v = JSONValue.parse(data);
  if (v === null) return res;
  const a = v.get("added");
  if (a !== null) res.added = a.int();
  const u = v.get("updated");
  if (u !== null) res.updated = u.int();
  const n = v.get("unchanged");
  if (n !== null) res.unchanged = n.int();
  const d = v.get("deleted");
  if (d !== null) res.deleted = d.int();
  return res;
}

/** The records cache, per model. Batches are all or nothing, and saves idempotent upserts. */
export class Records {
  /**
   * Saves a batch of records of model: batch is a JSON array of objects, each with a string
   * "id", passed as is (a provider's items can go straight from its response). An empty batch
   * is not sent.
   */
  static save(model: string, batch: Uint8Array): Result<SaveResult> {
    return Records.batch(Op.RecordsSave, "save", model, batch);
  }

  /** Saves a batch given as JSON text. */
  static saveJSON(model: string, batch: string): Result<SaveResult> {
    return Records.save(model, bytes(batch));
  }

  /** Deep-merges patches (a JSON array of objects with a string "id") into cached records. */
  static update(model: string, patches: Uint8Array): Result<SaveResult> {
    return Records.batch(Op.RecordsUpdate, "update", model, patches);
  }

  /** Deletes records of model; ids is a JSON array of ids or of objects with an "id". */
  static delete(model: string, ids: Uint8Array): Result<SaveResult> {
    return Records.batch(Op.RecordsDelete, "delete", model, ids);
  }

  /** Deletes the records of model with these ids. */
  static deleteIDs(model: string, ids: string[]): Result<SaveResult> {
    return Records.delete(model, bytes(quoteAll(ids)));
  }

  /** The cached (not deleted) records of model among ids, as a JSON array in id order. */
  static get(model: string, ids: string[]): Result<string> {
    if (ids.length == 0) return new Result<string>("[]", null);
    const reply = call(Op.RecordsGet, model + "\n", bytes(quoteAll(ids)));
    if (!reply.ok) return new Result<string>("[]", failed("get " + model, reply));
    const text = reply.text();
    return new Result<string>(text === null ? "[]" : text, null);
  }

  private static batch(op: Op, verb: string, model: string, body: Uint8Array): Result<SaveResult> {
    if (body.length <= 16) {
      // "[]", perhaps with whitespace: nothing to send.
      const v = JSONValue.parse(body);
      if (v !== null && v.kind == Kind.Array && v.count() == 0) return new Result<SaveResult>(new SaveResult(), null);
    }
    const reply = call(op, model + "\n", body);
    if (!reply.ok) return new Result<SaveResult>(new SaveResult(), failed(verb + " " + model, reply));
    return new Result<SaveResult>(counts(reply), null);
  }
}

// ---- checkpoint, metadata, last sync time

/** The sync's checkpoint: a JSON object saved after each batch it covers. */
export class Checkpoint {
  /** The checkpoint's JSON text; null (with ok) when there is none. */
  static get(): Result<string | null> {
    const reply = call(Op.CheckpointGet, null);
    if (!reply.ok) return new Result<string | null>(null, failed("checkpoint", reply));
    return new Result<string | null>(reply.text(), null);
  }

  /** Saves a JSON object as the checkpoint. Save it after the records it covers. */
  static save(json: string): string | null {
    const reply = call(Op.CheckpointSave, null, bytes(json));
    return status("save checkpoint", reply);
  }

  /** Removes the checkpoint, so the next run starts from scratch. */
  static clear(): string | null {
    const reply = call(Op.CheckpointClear, null);
    return status("clear checkpoint", reply);
  }
}

/** The connection's metadata: a JSON object the app sets (chosen folders, mappings...). */
export class Metadata {
  /** The metadata's JSON text; "{}" when unset. */
  static get(): Result<string> {
    const reply = call(Op.MetadataGet, null);
    if (!reply.ok) return new Result<string>("{}", failed("metadata", reply));
    const text = reply.text();
    return new Result<string>(text === null ? "{}" : text, null);
  }

  /** Replaces the metadata with a JSON object. */
  static set(json: string): string | null {
    const reply = call(Op.MetadataSet, null, bytes(json));
    return status("set metadata", reply);
  }
}

/** The start of this sync's last successful run (RFC 3339); null if it never succeeded. */
export function lastSyncTime(): Result<string | null> {
  const reply = call(Op.LastSyncTime, null);
  if (!reply.ok) return new Result<string | null>(null, failed("last sync time", reply));
  return new Result<string | null>(reply.text(), null);
}

/** Asks for a sync of this integration to run soon for this connection. */
export function triggerSync(sync: string): string | null {
  const reply = call(Op.TriggerSync, null, bytes(sync));
  return status("trigger sync " + sync, reply);
}

// ---- data links

/** A pair of an app's record id and the provider's, per connection and model. */
export class Link {
  constructor(
    public readonly appID: string,
    public readonly externalID: string,
  ) {}
}

/**
 * Data links: the app's record ids paired with the provider's, per connection and model, so a
 * push action can find the provider's record that matches an app's record and remember the
 * one it created. An app id is linked to one external id per model, and an external id to one
 * app id. The app reads and writes the same links over REST (/v1/links/...).
 */
export class Links {
  /** The link of an app record id; null (with ok) if there is none. */
  static byApp(model: string, appID: string): Result<Link | null> {
    if (appID.length == 0) return new Result<Link | null>(null, "ferry: get " + model + " link: empty app id");
    return Links.get(model, "app id " + appID, "{\"app_id\":" + quote(appID) + "}");
  }

  /** The link of a provider record id; null (with ok) if there is none. */
  static byExternal(model: string, externalID: string): Result<Link | null> {
    if (externalID.length == 0) return new Result<Link | null>(null, "ferry: get " + model + " link: empty external id");
    return Links.get(model, "external id " + externalID, "{\"external_id\":" + quote(externalID) + "}");
  }

  /**
   * Stores a link, replacing those of the same app id and of the same external id, so each id
   * stays linked once; putting the same link again changes nothing. Both ids must be set.
   */
  static put(model: string, appID: string, externalID: string): string | null {
    if (appID.length == 0 || externalID.length == 0) {
      return "ferry: put " + model + " link {AppID:" + appID + " ExternalID:" + externalID + "}: both app_id and external_id must be set";
    }
    const reply = call(Op.LinksPut, model + "\n" + "{\"app_id\":" + quote(appID) + ",\"external_id\":" + quote(externalID) + "}");
    return status("put " + model + " link of app id " + appID, reply);
  }

  /** Deletes the link of an app record id. Deleting a link that does not exist is not an error. */
  static delete(model: string, appID: string): string | null {
    if (appID.length == 0) return "ferry: delete " + model + " link: empty app id";
    const reply = call(Op.LinksDelete, model + "\n" + "{\"app_id\":" + quote(appID) + "}");
    return status("delete " + model + " link of app id " + appID, reply);
  }

  private static get(model: string, what: string, query: string): Result<Link | null> {
    const where = "get " + model + " link of " + what;
    const reply = call(Op.LinksGet, model + "\n" + query);
    if (!reply.ok) return new Result<Link | null>(null, failed(where, reply));
    const data = reply.data;
    if (data === null) return new Result<Link | null>(null, null);
    const v = JSONValue.parse(data);
    if (v !== null) {
      const app = v.get("app_id");
      const ext = v.get("external_id");
      if (app !== null && ext !== null && app.kind == Kind.String && ext.kind == Kind.String) {
        return new Result<Link | null>(new Link(app.str() as string, ext.str() as string), null);
      }
    }
    return new Result<Link | null>(null, "ferry: " + where + ": bad answer from the host: " + (reply.text() as string));
  }
}
