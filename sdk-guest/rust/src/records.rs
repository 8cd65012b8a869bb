//! Batch record saves, updates, deletes and reads.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::abi::HostFn;
use crate::error::{excerpt, Error, Result};
use crate::host::Host;

/// What a batch save did to the records cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveResult {
    /// Records the cache did not hold (or held as deleted).
    pub added: u64,
    /// Records whose content changed.
    pub updated: u64,
    /// Records saved again with the same content (key order and whitespace do not count).
    pub unchanged: u64,
}

impl std::ops::AddAssign for SaveResult {
    fn add_assign(&mut self, o: SaveResult) {
        self.added += o.added;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

/// What a batch update did to the records cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateResult {
    /// Records the patches changed.
    pub updated: u64,
    /// Records the patches left as they were.
    pub unchanged: u64,
}

impl Host {
    /// Saves a batch of records of `model`, an idempotent upsert: saving a record again with
    /// the same content changes nothing and counts as unchanged, so a batch replayed after a
    /// crash neither loses nor duplicates anything. Each record must serialize to a JSON
    /// object with a string `"id"` (structs with an `id: String` field, `serde_json::Value`
    /// objects, ...).
    ///
    /// A batch is all or nothing: if one record is not an object or has no string id, the host
    /// stores none of them and the error names the record's index. The host has committed the
    /// batch by the time `save` returns, so save the checkpoint that covers it afterwards,
    /// never before. An empty batch is not sent.
    ///
    /// A batch, like every argument, is capped at 64 MiB; a page of the provider's results is
    /// the usual batch.
    pub fn save<T: Serialize>(&mut self, model: &str, records: &[T]) -> Result<SaveResult> {
        if records.is_empty() {
            check_model(model).map_err(|e| e.context("ferry: save"))?;
            return Ok(SaveResult::default());
        }
        self.batch(HostFn::RecordsSave, "save", model, records)
    }

    /// Saves `json_array`, a JSON array of objects each with a string `"id"`, as a batch of
    /// records of `model`, with the guarantees of [`Host::save`]. It skips encoding, for
    /// records that arrive from the provider as the JSON the cache should hold
    /// ([`crate::Page::raw`]).
    pub fn save_raw(&mut self, model: &str, json_array: &[u8]) -> Result<SaveResult> {
        self.batch_raw(HostFn::RecordsSave, "save", model, json_array)
    }

    /// Deep-merges a batch of partial records into the cached records of `model`: each patch
    /// is an object with the string `"id"` of a cached record and the fields to change;
    /// objects merge recursively, other values replace. The batch is all or nothing like
    /// [`Host::save`]'s.
    pub fn update<T: Serialize>(&mut self, model: &str, patches: &[T]) -> Result<UpdateResult> {
        if patches.is_empty() {
            check_model(model).map_err(|e| e.context("ferry: update"))?;
            return Ok(UpdateResult::default());
        }
        self.batch(HostFn::RecordsUpdate, "update", model, patches)
    }

    /// Marks the records of `model` with the given ids deleted and returns how many were
    /// cached and not yet deleted. Ids that are unknown or already deleted are not an error,
    /// so a replayed deletion is harmless.
    pub fn delete<S: AsRef<str>>(&mut self, model: &str, ids: &[S]) -> Result<u64> {
        #[derive(Deserialize)]
        struct Deleted {
            deleted: u64,
        }
        if ids.is_empty() {
            check_model(model).map_err(|e| e.context("ferry: delete"))?;
            return Ok(0);
        }
        let ids: Vec<&str> = ids.iter().map(|s| s.as_ref()).collect();
        let res: Deleted = self.batch(HostFn::RecordsDelete, "delete", model, &ids)?;
        Ok(res.deleted)
    }

    /// Returns the cached records of `model` among `ids`, decoded as `T`, in id order; deleted
    /// and unknown ids are left out. At most 10,000 ids a call.
    pub fn get<T: DeserializeOwned, S: AsRef<str>>(
        &mut self,
        model: &str,
        ids: &[S],
    ) -> Result<Vec<T>> {
        if ids.is_empty() {
            check_model(model).map_err(|e| e.context("ferry: get"))?;
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(|s| s.as_ref()).collect();
        self.batch(HostFn::RecordsGet, "get", model, &ids)
    }

    /// Sends `MODEL\n[...]` to `f` and decodes its result.
    fn batch<T: Serialize, R: DeserializeOwned>(
        &mut self,
        f: HostFn,
        verb: &str,
        model: &str,
        items: &[T],
    ) -> Result<R> {
        check_model(model).map_err(|e| e.context(format!("ferry: {}", verb)))?;
        let header = format!("{}\n", model);
        let out = self
            .call_json(f, &header, items, b'[', "records")
            .map_err(|e| e.context(format!("ferry: {} {}", verb, model)))?;
        decode_result(verb, model, out)
    }

    fn batch_raw<R: DeserializeOwned + Default>(
        &mut self,
        f: HostFn,
        verb: &str,
        model: &str,
        json_array: &[u8],
    ) -> Result<R> {
        check_model(model).map_err(|e| e.context(format!("ferry: {}", verb)))?;
        let body = crate::jsonscan::trim_space(json_array);
        if body.first() != Some(&b'[') {
            return Err(Error::msg(format!(
                "ferry: {} {}: records must be a JSON array, got {}",
                verb,
                model,
                excerpt(body, 40)
            )));
        }
        if crate::jsonscan::count_array(body) == 0 {
            return Ok(R::default());
        }
        let out = self
            .call_raw(f, &format!("{}\n", model), body)
            .map_err(|e| e.context(format!("ferry: {} {}", verb, model)))?;
        decode_result(verb, model, out)
    }
}

fn decode_result<R: DeserializeOwned>(verb: &str, model: &str, out: Option<Vec<u8>>) -> Result<R> {
    let out = out.unwrap_or_else(|| b"[]".to_vec());
    serde_json::from_slice(&out).map_err(|e| {
        Error::msg(format!(
            "ferry: {} {}: decode host result {:?}: {}",
            verb,
            model,
            excerpt(&out, 80),
            e
        ))
    })
}

/// Reports whether `model` is a valid model name, `[A-Za-z0-9_]+`, so a bad name fails here
/// with a clear message rather than as a garbled header at the host.
pub(crate) fn check_model(model: &str) -> Result<()> {
    if model.is_empty() {
        return Err(Error::msg("empty model name"));
    }
    if !model
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return Err(Error::msg(format!(
            "invalid model name {:?}: want letters, digits and _",
            model
        )));
    }
    Ok(())
}
