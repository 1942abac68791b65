//! `kseg groups`: the consumer groups a broker's `__consumer_offsets`
//! partitions describe, replayed as the group coordinator loads them: in
//! offset order, the latest record of a key wins, a tombstone deletes, and
//! offsets committed inside a transaction count only once its COMMIT marker
//! is read (an ABORT drops them). Given a partition, it opens its files.

use std::collections::{BTreeMap, HashMap};
use std::io;

use serde::Serialize;
use serde_json::Value;

use crate::files::log::LogSource;
use crate::files::logdir::Partition;
use crate::format::entry::Decoder;
use crate::format::walk::{Step, Walker};
use crate::topics::{self, TopicKind, TopicRecord};

/// One committed offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub offset: i64,
    pub leader_epoch: Option<i32>,
    pub metadata: Option<String>,
    /// The commit's `commitTimestamp` (ms), else the record's timestamp.
    pub commit_timestamp: i64,
    /// Where the commit is in `__consumer_offsets`.
    pub log_offset: i64,
}

/// A member, as the group's metadata names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    pub member_id: String,
    pub client_id: Option<String>,
    pub client_host: Option<String>,
}

/// One group's state at the end of the log.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Group {
    pub group: String,
    /// `classic` (GROUP_METADATA), `consumer`, `share` or `streams`; `None`
    /// for a group that only has committed offsets (a consumer that assigns
    /// its partitions itself).
    pub group_type: Option<String>,
    /// Classic groups: the protocol type (`consumer`, `connect`, …).
    pub protocol_type: Option<String>,
    /// Classic groups: the chosen assignor (`range`, `cooperative-sticky`, …).
    pub protocol: Option<String>,
    /// Classic groups: the generation; other types: the group epoch.
    pub generation: Option<i64>,
    pub members: Vec<Member>,
    /// `Empty` without members, `Stable` with, `Dead` when its metadata
    /// was deleted (a tombstone).
    pub state: &'static str,
    /// When the group's metadata was last written (ms): its
    /// `currentStateTimestamp`, else the record's timestamp.
    pub state_timestamp: Option<i64>,
    /// By topic, then partition. Not serialized: a writer lists them in
    /// the form it shows (with what it adds, such as the lag).
    #[serde(skip)]
    pub offsets: BTreeMap<String, BTreeMap<i32, Committed>>,
}

/// What replaying a set of `__consumer_offsets` partitions gave.
#[derive(Debug, Default)]
pub struct Replay {
    pub groups: BTreeMap<String, Group>,
    /// (file, byte position, message) of what could not be read.
    pub damage: Vec<(std::path::PathBuf, u64, String)>,
    /// Transactions whose marker was not in the log: their offsets are not applied.
    pub pending_transactions: usize,
    pub records: u64,
}

/// Pending transactional offset commits: producer id → (key, value) in order.
type Pending = HashMap<i64, Vec<(OffsetKey, Option<Committed>)>>;

#[derive(Clone, Debug)]
struct OffsetKey {
    group: String,
    topic: String,
    partition: i32,
}

fn str_field(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn int_field(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

/// `CONSUMER_GROUP_METADATA` → `consumer`, `GROUP_METADATA` → `classic`.
fn group_type(record_type: &str, suffix: &str) -> Option<String> {
    let prefix = record_type.strip_suffix(suffix)?;
    Some(if prefix.is_empty() { "classic".into() } else { prefix.trim_end_matches('_').to_ascii_lowercase() })
}

impl Replay {
    fn group(&mut self, id: &str) -> &mut Group {
        self.groups.entry(id.to_string()).or_insert_with(|| Group {
            group: id.to_string(),
            state: "Empty",
            ..Group::default()
        })
    }

    fn apply_offset(&mut self, key: OffsetKey, value: Option<Committed>) {
        let g = self.group(&key.group);
        match value {
            Some(c) => {
                g.offsets.entry(key.topic).or_default().insert(key.partition, c);
            }
            None => {
                if let Some(t) = g.offsets.get_mut(&key.topic) {
                    t.remove(&key.partition);
                    if t.is_empty() {
                        g.offsets.remove(&key.topic);
                    }
                }
            }
        }
    }

    /// One decoded record at `offset` with the record's `timestamp`;
    /// `txn` is the producer id of a transactional batch.
    fn record(&mut self, rec: &TopicRecord, offset: i64, timestamp: i64, txn: Option<i64>, pending: &mut Pending) {
        self.records += 1;
        let Some(ty) = rec.record_type else { return };
        let key = rec.key.get("data").cloned().unwrap_or(Value::Null);
        let value = rec.value.get("data").cloned().unwrap_or(Value::Null);
        let Some(group_id) = rec.group_id().map(str::to_string) else { return };
        match ty {
            "OFFSET_COMMIT" | "LEGACY_OFFSET_COMMIT" => {
                let (Some(topic), Some(partition)) = (str_field(&key, "topic"), int_field(&key, "partition")) else {
                    return;
                };
                let okey = OffsetKey { group: group_id, topic, partition: partition as i32 };
                let committed = (!rec.tombstone).then(|| Committed {
                    offset: int_field(&value, "offset").unwrap_or(-1),
                    leader_epoch: int_field(&value, "leaderEpoch").map(|e| e as i32).filter(|e| *e >= 0),
                    metadata: str_field(&value, "metadata").filter(|m| !m.is_empty()),
                    commit_timestamp: int_field(&value, "commitTimestamp").unwrap_or(timestamp),
                    log_offset: offset,
                });
                if rec.tombstone || committed.is_some() {
                    match txn {
                        Some(pid) => pending.entry(pid).or_default().push((okey, committed)),
                        None => self.apply_offset(okey, committed),
                    }
                }
            }
            t if let Some(kind) = group_type(t, "GROUP_METADATA") => {
                let g = self.group(&group_id);
                if rec.tombstone {
                    g.state = "Dead";
                    g.members.clear();
                    g.state_timestamp = Some(timestamp);
                    return;
                }
                g.group_type = Some(kind.clone());
                g.state_timestamp = Some(int_field(&value, "currentStateTimestamp").unwrap_or(timestamp));
                if kind == "classic" {
                    g.protocol_type = str_field(&value, "protocolType");
                    g.protocol = str_field(&value, "protocol");
                    g.generation = int_field(&value, "generation");
                    g.members = value
                        .get("members")
                        .and_then(Value::as_array)
                        .map(|ms| {
                            ms.iter()
                                .map(|m| Member {
                                    member_id: str_field(m, "memberId").unwrap_or_default(),
                                    client_id: str_field(m, "clientId"),
                                    client_host: str_field(m, "clientHost"),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                } else {
                    g.generation = int_field(&value, "epoch");
                }
                g.state = if g.members.is_empty() { "Empty" } else { "Stable" };
            }
            t if let Some(kind) = group_type(t, "GROUP_MEMBER_METADATA") => {
                let member_id = str_field(&key, "memberId").unwrap_or_default();
                let g = self.group(&group_id);
                g.members.retain(|m| m.member_id != member_id);
                if !rec.tombstone {
                    g.group_type.get_or_insert(kind);
                    g.members.push(Member {
                        member_id,
                        client_id: str_field(&value, "clientId"),
                        client_host: str_field(&value, "clientHost"),
                    });
                }
                if g.state != "Dead" {
                    g.state = if g.members.is_empty() { "Empty" } else { "Stable" };
                }
            }
            _ => {}
        }
    }

    /// Replay one `__consumer_offsets` partition's segments, in order.
    pub fn partition(&mut self, part: &Partition, mmap: bool, max_decompressed: usize) -> io::Result<()> {
        let mut decoder = Decoder::new(max_decompressed);
        let mut pending: Pending = HashMap::new();
        for seg in &part.segments {
            let mut walker = Walker::new(LogSource::open(&seg.log, mmap)?);
            while let Some(step) = walker.next_step()? {
                let (position, bytes) = match step {
                    Step::Entry { position, bytes } => (position, bytes),
                    // A torn tail is what a crash leaves; the coordinator reads up to it.
                    Step::Trailing { .. } | Step::ZeroFill { .. } => continue,
                    Step::TooLarge { position, size } => {
                        self.damage.push((seg.log.clone(), position, format!("entry of {size} bytes is too large")));
                        continue;
                    }
                    Step::Corrupt(e) => {
                        self.damage.push((seg.log.clone(), e.position, e.kind.to_string()));
                        continue;
                    }
                };
                let mut d = match decoder.decode(bytes, position) {
                    Ok(d) => d,
                    Err(e) => {
                        self.damage.push((seg.log.clone(), position, e.describe()));
                        continue;
                    }
                };
                if !d.info.crc_valid {
                    let msg = format!("CRC mismatch in the batch at offset {}", d.info.base_offset);
                    self.damage.push((seg.log.clone(), position, msg));
                }
                let info = d.info.clone();
                let txn = info.is_transactional.then_some(info.producer_id);
                for r in d.records() {
                    let r = match r {
                        Ok(r) => r,
                        Err(e) => {
                            self.damage.push((seg.log.clone(), position, e.to_string()));
                            break;
                        }
                    };
                    if info.is_control {
                        // The end of a transaction: its offsets count (COMMIT) or not.
                        if let Some(c) = &r.control
                            && let Some(ops) = pending.remove(&info.producer_id)
                            && c.type_id == 1
                        {
                            for (k, v) in ops {
                                self.apply_offset(k, v);
                            }
                        }
                        continue;
                    }
                    let rec = topics::decode_record(TopicKind::Offsets, r.key, r.value);
                    self.record(&rec, r.offset, r.timestamp, txn, &mut pending);
                }
            }
        }
        self.pending_transactions += pending.len();
        Ok(())
    }
}
