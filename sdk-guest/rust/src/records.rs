//! Batch record saves, updates, deletes and reads.

use std::fmt;

use serde::de::{DeserializeOwned, IgnoredAny};
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
    ///
    /// `save` returns once the batch is saved; [`Host::queue_save`] lets the function go on
    /// while it is. `save` first waits for the batches queued before it and, if one of them
    /// failed, returns that failure instead of saving.
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

    /// Queues a batch of records of `model` to be saved while the function goes on, and
    /// returns at once: the host takes a copy of the batch and saves it, with
    /// [`Host::save`]'s guarantees (an idempotent upsert, all or nothing), while the function
    /// fetches and decodes its next page. With [`Host::save`] the function waits for the
    /// host's share of every page (parsing, validating, diffing and writing the batch)
    /// before it fetches the next; a sync that saves page after page should queue its batches
    /// instead, and call [`Host::flush`] for the counts, at the end of the run say:
    ///
    /// ```no_run
    /// # fn contacts(
    /// #     s: &mut ferry::Sync,
    /// #     pages: &mut ferry::Pager<ferry::CursorPagination>,
    /// # ) -> ferry::Result<()> {
    /// while let Some(page) = pages.next(s)? {
    ///     let contacts: Vec<serde_json::Value> = page.decode()?;
    ///     s.queue_save("Contact", &contacts)?;
    ///     // Queued behind the batch: written once the batch is saved, never before.
    ///     s.save_checkpoint(&serde_json::json!({"cursor": page.cursor()}))?;
    /// }
    /// let total = s.flush()?; // waits for the queue: the counts, or a queued batch's failure
    /// ferry::info!(s, "{} added, {} updated", total.added, total.updated);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// - The host saves the queued batches in order, one at a time. Up to three may wait to
    ///   be saved; with three waiting, `queue_save` first waits for the oldest, so the
    ///   function runs at most three pages ahead of the host.
    /// - `model` is checked at once; the records themselves (each an object with a string
    ///   `"id"`, the model's schema) when the host saves the batch.
    /// - A [`Sync::save_checkpoint`](crate::Sync::save_checkpoint) after `queue_save` is
    ///   queued behind the batch and returns at once: the checkpoint is written only after
    ///   the batch is saved, so a sync checkpoints after each queued page as it does after
    ///   each [`Host::save`].
    /// - A queued batch that fails (a refused batch, a store error) is not the error of the
    ///   `queue_save` that queued it, which has returned by then. It is the error of the next
    ///   call that waits for the queue, which then does nothing else: [`Host::flush`], a
    ///   later `queue_save` (the first made once the host knows of the failure, at the latest
    ///   the one that waits for the failed batch), or any call that reads or writes the store ([`Host::save`],
    ///   [`Host::update`], [`Host::delete`], [`Host::get`],
    ///   [`Sync::checkpoint`](crate::Sync::checkpoint),
    ///   [`Sync::clear_checkpoint`](crate::Sync::clear_checkpoint), [`Host::set_metadata`],
    ///   [`Host::links`], [`Http::save_from`](crate::Http::save_from),
    ///   [`Host::trigger_sync`]). HTTP requests, logging, [`Host::metadata`] and
    ///   [`Sync::last_sync_time`](crate::Sync::last_sync_time) do not wait. The message
    ///   says which queued write failed and why.
    /// - The queue stops at its first failure: the writes queued after the failed batch,
    ///   checkpoints included, are dropped, so the checkpoint never gets ahead of the
    ///   records. Once the failure is reported the queue is empty and can be used again.
    /// - A refused queued batch counts as refused, as with [`Host::save`]: a full run
    ///   deletes nothing.
    /// - When the function returns, the host waits for the queue. A failure the function
    ///   was never told of fails the run, even if the function returned `Ok`; a function that
    ///   wants to handle it calls [`Host::flush`] before it returns.
    ///
    /// So an error from `queue_save` means its own batch was not queued: the model is
    /// invalid, the records did not encode to a JSON array, or a write queued earlier failed.
    /// An empty batch is not sent (the model is still checked), so it neither waits for the
    /// queue nor reports its failure. A batch is capped at 64 MiB, as with [`Host::save`].
    pub fn queue_save<T: Serialize>(&mut self, model: &str, records: &[T]) -> Result<()> {
        if records.is_empty() {
            check_model(model).map_err(|e| e.context("ferry: queue save"))?;
            return Ok(());
        }
        let _: IgnoredAny = self.batch(HostFn::RecordsQueue, "queue save", model, records)?;
        Ok(())
    }

    /// Queues `json_array`, a JSON array of objects each with a string `"id"`, as a batch of
    /// records of `model`, as [`Host::queue_save`] does: the host saves it while the function
    /// goes on, and a failure is reported by the next call that waits for the queue. It skips
    /// encoding, as [`Host::save_raw`] does.
    pub fn queue_save_raw(&mut self, model: &str, json_array: &[u8]) -> Result<()> {
        let _: IgnoredAny =
            self.batch_raw(HostFn::RecordsQueue, "queue save", model, json_array)?;
        Ok(())
    }

    /// Waits until every batch queued with [`Host::queue_save`] is saved, and returns what
    /// they did to the records cache: the counts summed over the batches queued since the
    /// last `flush` (all zero when none were). If a queued batch failed, `flush` returns that
    /// failure instead: nothing queued after the batch was written (checkpoints included),
    /// and the queue is empty again.
    ///
    /// Every call that reads or writes the store waits for the queue too, so `flush` is not
    /// needed to keep writes in order; call it for the counts, at the end of the run say, or
    /// to learn of a queued batch's failure at a point of the function's choosing.
    pub fn flush(&mut self) -> Result<SaveResult> {
        let out = self
            .call(HostFn::RecordsFlush, &[])
            .map_err(|e| e.context("ferry: flush"))?;
        decode_result(format_args!("ferry: flush"), out)
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

    /// Sends `MODEL\n[...]` to `f` and decodes its result (`R` = [`IgnoredAny`] for a call
    /// with none, such as records_queue). `verb` names the call in errors.
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
        decode_result(format_args!("ferry: {} {}", verb, model), out)
    }

    /// Sends `MODEL\n` and `json_array` as it is to `f`, as [`Host::batch`] does; an empty
    /// array is not sent, and gives `R::default()`.
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
        if crate::jsonscan::is_empty_array(body) {
            return Ok(R::default());
        }
        let out = self
            .call_raw(f, &format!("{}\n", model), body)
            .map_err(|e| e.context(format!("ferry: {} {}", verb, model)))?;
        decode_result(format_args!("ferry: {} {}", verb, model), out)
    }
}

/// Decodes a host call's result (`[]` when there is none); `what` says which call it was.
fn decode_result<R: DeserializeOwned>(what: fmt::Arguments<'_>, out: Option<Vec<u8>>) -> Result<R> {
    let out = out.unwrap_or_else(|| b"[]".to_vec());
    serde_json::from_slice(&out).map_err(|e| {
        Error::msg(format!(
            "{}: decode host result {:?}: {}",
            what,
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
