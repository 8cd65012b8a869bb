//! Checkpoints, connection metadata, the last sync time, and an action's input and output.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::abi::HostFn;
use crate::error::{excerpt, Error, Result};
use crate::host::{Action, Host, Sync};
use crate::time::Timestamp;

impl Sync {
    /// Returns the sync's checkpoint decoded as `T`, or `None` when there is none: on the
    /// first run and after a full resync. A sync reads it at start to resume where its last
    /// run stopped. (A full sync's checkpoint only lasts the run: the host clears it at the
    /// start of every full run.)
    pub fn checkpoint<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        let res = self
            .call(HostFn::CheckpointGet, &[])
            .map_err(|e| e.context("ferry: read checkpoint"))?;
        match res {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                Error::msg(format!(
                    "ferry: decode checkpoint {}: {}",
                    excerpt(&b, 80),
                    e
                ))
            }),
        }
    }

    /// Stores `v`, which must serialize to a JSON object of at most 1 MiB, as the sync's
    /// checkpoint. Save it after the records it covers: the host has committed a batch by the
    /// time [`Host::save`] returns, so a run that crashes after `save_checkpoint` resumes
    /// after that batch, and one that crashes before replays it, which the idempotent save
    /// makes harmless.
    ///
    /// After [`Host::queue_save`], the checkpoint is queued behind the batches queued before
    /// it and `save_checkpoint` returns at once: the host writes it only once they are saved,
    /// and drops it if one of them fails (that failure is then the error of the next call that
    /// waits for the queue, such as [`Host::flush`]).
    pub fn save_checkpoint<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.call_json(HostFn::CheckpointSave, "", v, b'{', "checkpoint")
            .map_err(|e| e.context("ferry: save checkpoint"))?;
        Ok(())
    }

    /// Removes the sync's checkpoint, so its next run starts from scratch.
    pub fn clear_checkpoint(&mut self) -> Result<()> {
        self.call(HostFn::CheckpointClear, &[])
            .map_err(|e| e.context("ferry: clear checkpoint"))?;
        Ok(())
    }

    /// Returns the start time of the sync's last successful run, or `None` if it never
    /// succeeded.
    pub fn last_sync_time(&mut self) -> Result<Option<Timestamp>> {
        let res = self
            .call(HostFn::LastSyncTime, &[])
            .map_err(|e| e.context("ferry: read last sync time"))?;
        match res {
            None => Ok(None),
            Some(b) => Timestamp::parse(&String::from_utf8_lossy(&b))
                .map(Some)
                .map_err(|e| e.context("ferry: read last sync time")),
        }
    }
}

impl Host {
    /// Returns the connection's metadata, a JSON object the app sets (chosen folders, field
    /// mappings and the like), decoded as `T`. A connection without metadata has `{}`, so a
    /// struct whose fields all have defaults (`#[serde(default)]`) always decodes.
    pub fn metadata<T: DeserializeOwned>(&mut self) -> Result<T> {
        let res = self
            .call(HostFn::MetadataGet, &[])
            .map_err(|e| e.context("ferry: read metadata"))?;
        let b = res.unwrap_or_else(|| b"{}".to_vec());
        serde_json::from_slice(&b)
            .map_err(|e| Error::msg(format!("ferry: decode metadata {}: {}", excerpt(&b, 80), e)))
    }

    /// Replaces the connection's metadata with `v`, which must serialize to a JSON object of
    /// at most 1 MiB.
    pub fn set_metadata<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.call_json(HostFn::MetadataSet, "", v, b'{', "metadata")
            .map_err(|e| e.context("ferry: set metadata"))?;
        Ok(())
    }
}

impl Action {
    /// Returns the action's JSON input decoded as `T` (`serde_json::Value` takes it as it
    /// came). The host has checked it against the action's input schema in ferry.yaml, if
    /// there is one.
    pub fn input<T: DeserializeOwned>(&mut self) -> Result<T> {
        let res = self
            .call(HostFn::Input, &[])
            .map_err(|e| e.context("ferry: read input"))?;
        let b = res.unwrap_or_else(|| b"null".to_vec());
        serde_json::from_slice(&b)
            .map_err(|e| Error::msg(format!("ferry: decode input {}: {}", excerpt(&b, 80), e)))
    }

    /// Sets the action's result to `v` encoded as JSON. Calling it again replaces the earlier
    /// output.
    pub fn output<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.output_json(v, "output")
    }
}
