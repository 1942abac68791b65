//! Decoders for Kafka's internal topics: `__consumer_offsets`,
//! `__transaction_state`, `__cluster_metadata` (and KRaft snapshots),
//! `__remote_log_metadata` and `__share_group_state`.
//!
//! One generic reader ([`wire`]) interprets Kafka's message encoding from
//! schema tables written in kseg's own text form ([`schema`]); each topic
//! module holds its tables and framing. The entry point is [`decode_record`]:
//! it never fails. Unknown record types, versions newer than kseg knows,
//! unknown tagged fields and malformed bytes all come back as notes beside
//! whatever could be decoded, so a caller can always show the raw bytes too.
//!
//! The JSON in [`TopicRecord::key`] and [`TopicRecord::value`] follows Kafka's own
//! JSON rendering of these records (`data` objects are what
//! `kafka-dump-log.sh`'s decoders print), so a Kafka-compatible text mode can
//! reuse it as is.

pub mod metadata;
pub mod offsets;
pub mod remote;
pub mod schema;
pub mod share;
pub mod transactions;
pub mod wire;

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::format::bytes::Reader;
use schema::{Message, Schemas};
use wire::Ctx;

/// Which internal topic a record comes from, which decides its framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicKind {
    /// `__consumer_offsets`
    Offsets,
    /// `__transaction_state`
    Transactions,
    /// `__cluster_metadata` and KRaft snapshots (`.checkpoint`)
    Metadata,
    /// `__remote_log_metadata`
    RemoteLogMetadata,
    /// `__share_group_state`
    ShareGroupState,
}

impl TopicKind {
    pub const ALL: [TopicKind; 5] = [
        TopicKind::Offsets,
        TopicKind::Transactions,
        TopicKind::Metadata,
        TopicKind::RemoteLogMetadata,
        TopicKind::ShareGroupState,
    ];

    /// The `--decode` name.
    pub fn name(self) -> &'static str {
        match self {
            TopicKind::Offsets => "offsets",
            TopicKind::Transactions => "transactions",
            TopicKind::Metadata => "metadata",
            TopicKind::RemoteLogMetadata => "remote-log-metadata",
            TopicKind::ShareGroupState => "share-group-state",
        }
    }

    /// The internal topic's name.
    pub fn topic(self) -> &'static str {
        match self {
            TopicKind::Offsets => "__consumer_offsets",
            TopicKind::Transactions => "__transaction_state",
            TopicKind::Metadata => "__cluster_metadata",
            TopicKind::RemoteLogMetadata => "__remote_log_metadata",
            TopicKind::ShareGroupState => "__share_group_state",
        }
    }

    /// The kind of a topic by its name (`__consumer_offsets` → offsets).
    pub fn from_topic(topic: &str) -> Option<TopicKind> {
        TopicKind::ALL.into_iter().find(|k| k.topic() == topic)
    }

    /// The kind a file's location says: a KRaft snapshot (`*.checkpoint`,
    /// `bootstrap.checkpoint`) holds metadata; otherwise the partition
    /// directory `<topic>-<partition>` names the topic (the file's parent, or
    /// the path itself when it is a directory).
    pub fn for_path(path: &Path) -> Option<TopicKind> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let name = name.strip_suffix(".deleted").unwrap_or(name);
        if name.ends_with(".checkpoint") && !path.is_dir() {
            return Some(TopicKind::Metadata);
        }
        let dir = if path.is_dir() { Some(path) } else { path.parent() };
        let dir_name = dir.and_then(|d| d.file_name()).and_then(|n| n.to_str())?;
        let (topic, partition) = dir_name.rsplit_once('-')?;
        if partition.is_empty() || !partition.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        TopicKind::from_topic(topic)
    }

    pub fn schemas(self) -> &'static Schemas {
        static CELLS: [OnceLock<Schemas>; 5] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let (i, text) = match self {
            TopicKind::Offsets => (0, offsets::SCHEMAS),
            TopicKind::Transactions => (1, transactions::SCHEMAS),
            TopicKind::Metadata => (2, metadata::SCHEMAS),
            TopicKind::RemoteLogMetadata => (3, remote::SCHEMAS),
            TopicKind::ShareGroupState => (4, share::SCHEMAS),
        };
        CELLS[i].get_or_init(|| Schemas::parse(text))
    }

    /// Record type names of this topic, by id.
    pub fn record_types(self) -> Vec<(i32, &'static str)> {
        self.schemas().types.iter().map(|t| (t.id, t.name.as_str())).collect()
    }

    /// Coordinator topics frame keys and values with an int16 type/version;
    /// metadata topics frame values with uvarints and ignore the key.
    fn is_coordinator(self) -> bool {
        matches!(self, TopicKind::Offsets | TopicKind::Transactions | TopicKind::ShareGroupState)
    }
}

impl std::str::FromStr for TopicKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TopicKind::ALL
            .into_iter()
            .find(|k| k.name() == s || k.topic() == s)
            .ok_or_else(|| format!("unknown decoder {s}"))
    }
}

fn consumer_protocol() -> &'static Schemas {
    static CELL: OnceLock<Schemas> = OnceLock::new();
    CELL.get_or_init(|| Schemas::parse(offsets::CONSUMER_PROTOCOL))
}

/// A record of an internal topic, decoded by its schema. Never a failure: what could not be decoded is `null`
/// (the raw bytes stay with the caller) and `notes` says why.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicRecord {
    pub kind: TopicKind,
    /// The record type's name (`OFFSET_COMMIT`, `PARTITION_RECORD`, …);
    /// `None` when the type is unknown or could not be read.
    pub record_type: Option<&'static str>,
    /// The record type id, when it could be read.
    pub record_type_id: Option<i32>,
    /// Coordinator topics: `{"type": <id>, "data": {…}}` (`data` missing when
    /// the key could not be decoded). `null` for metadata topics, whose key
    /// is unused, and for a null key.
    pub key: Value,
    /// Coordinator topics: `{"version": <v>, "data": {…}}`. Metadata topics:
    /// `{"type": <id>, "version": <v>, "data": {…}}`. `null` for a tombstone
    /// or when nothing could be decoded.
    pub value: Value,
    /// The value is null: a deletion (coordinator topics).
    pub tombstone: bool,
    /// Why something is missing or shown raw; empty when all went well.
    pub notes: Vec<String>,
}

impl TopicRecord {
    fn new(kind: TopicKind) -> Self {
        TopicRecord {
            kind,
            record_type: None,
            record_type_id: None,
            key: Value::Null,
            value: Value::Null,
            tombstone: false,
            notes: Vec::new(),
        }
    }

    fn key_field(&self, names: &[&str]) -> Option<&str> {
        let data = self.key.get("data")?;
        names.iter().find_map(|n| data.get(*n).and_then(Value::as_str))
    }

    /// The group id a coordinator key names (`group` or `groupId`).
    pub fn group_id(&self) -> Option<&str> {
        self.key_field(&["group", "groupId"])
    }

    /// The transactional id of a `__transaction_state` key.
    pub fn transactional_id(&self) -> Option<&str> {
        self.key_field(&["transactionalId"])
    }

    /// Whether `name` names this record's type: the exact name in any case,
    /// with or without `_`/`-`, with or without a trailing `RECORD`, or the
    /// numeric id (`offset_commit`, `OffsetCommit`, `partition`, `3`).
    pub fn type_matches(&self, name: &str) -> bool {
        if let (Ok(id), Some(own)) = (name.parse::<i32>(), self.record_type_id) {
            return id == own && self.record_type.is_some();
        }
        let Some(own) = self.record_type else { return false };
        let norm = |s: &str| -> String {
            let s: String = s.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
            s.strip_suffix("record").map(str::to_string).unwrap_or(s)
        };
        norm(own) == norm(name)
    }

    /// The decoded record as readable one-line texts for the key and the value.
    pub fn texts(&self) -> (String, String) {
        let ty = self.record_type.map(str::to_string).or_else(|| self.record_type_id.map(|t| format!("type {t}")));
        let key = match (&self.key, self.kind.is_coordinator()) {
            (Value::Null, _) => String::new(),
            (k, _) => {
                let data = k.get("data").map(readable).unwrap_or_default();
                format!("{} {data}", ty.clone().unwrap_or_default()).trim().to_string()
            }
        };
        let mut value = if self.tombstone {
            "<DELETE>".to_string()
        } else {
            match &self.value {
                Value::Null => String::new(),
                v => {
                    let version = v.get("version").map(|x| format!("v{x}")).unwrap_or_default();
                    let head = if self.kind.is_coordinator() {
                        version
                    } else {
                        format!("{} {version}", ty.unwrap_or_default()).trim().to_string()
                    };
                    match v.get("data") {
                        Some(d) => format!("{head} {}", readable(d)),
                        None => head,
                    }
                }
            }
        };
        for n in &self.notes {
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(&format!("[{n}]"));
        }
        (key, value)
    }
}

/// JSON without quotes around member names: `{offset: 5, metadata: ""}`.
pub fn readable(v: &Value) -> String {
    let mut s = String::new();
    write_readable(v, &mut s);
    s
}

fn write_readable(v: &Value, s: &mut String) {
    match v {
        Value::Object(m) => {
            s.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(k);
                s.push_str(": ");
                write_readable(v, s);
            }
            s.push('}');
        }
        Value::Array(a) => {
            s.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_readable(v, s);
            }
            s.push(']');
        }
        // JSON escapes the C0 controls; C1 controls, DEL and the bidi
        // controls (U+202E reverses what follows on a terminal) get the same
        // `\uXXXX` form, so a hostile group id or topic name shows as text.
        v => {
            for c in v.to_string().chars() {
                if c.is_control()
                    || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
                {
                    s.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    s.push(c);
                }
            }
        }
    }
}

/// Decode one record of an internal topic from its key and value.
pub fn decode_record(kind: TopicKind, key: Option<&[u8]>, value: Option<&[u8]>) -> TopicRecord {
    let mut d = TopicRecord::new(kind);
    if kind.is_coordinator() {
        decode_coordinator(&mut d, key, value);
    } else {
        decode_framed(&mut d, value);
    }
    d
}

/// Choose the version to read: the record's own, or the newest kseg knows
/// when the record is newer (with a note).
fn pick_version(m: &Message, version: i64, what: &str, notes: &mut Vec<String>) -> Result<i16, String> {
    if version < i64::from(m.min) {
        return Err(format!("{what} version {version} is not valid (lowest is {})", m.min));
    }
    if version > i64::from(m.max) {
        notes.push(format!("{what} version {version} is newer than kseg knows; read as version {}", m.max));
        return Ok(m.max);
    }
    Ok(version as i16)
}

fn decode_coordinator(d: &mut TopicRecord, key: Option<&[u8]>, value: Option<&[u8]>) {
    let schemas = d.kind.schemas();
    let Some(key) = key else {
        d.notes.push("the key is null; a coordinator record needs one".into());
        return;
    };
    let mut r = Reader::new(key, 0);
    let Ok(ty) = r.i16() else {
        d.notes.push("could not read the record type from the key".into());
        return;
    };
    d.record_type_id = Some(ty.into());
    let mut key_obj = Map::new();
    key_obj.insert("type".into(), ty.into());
    let Some(rt) = schemas.get(ty.into()) else {
        d.key = Value::Object(key_obj);
        d.notes.push(format!("unknown record type {ty}; key and value shown raw"));
        d.tombstone = value.is_none();
        return;
    };
    d.record_type = Some(rt.name.as_str());
    if let Some(km) = &rt.key {
        let mut ctx = Ctx::default();
        match wire::read_message(&mut r, km, 0, &mut ctx) {
            Ok(data) => {
                key_obj.insert("data".into(), Value::Object(data));
                if !r.is_empty() {
                    d.notes.push(format!("{} byte(s) left over after the key", r.remaining()));
                }
            }
            Err(e) => d.notes.push(format!("could not read the {} key: {e}", rt.name)),
        }
        d.notes.extend(ctx.notes);
    }
    d.key = Value::Object(key_obj);
    let Some(value) = value else {
        d.tombstone = true;
        return;
    };
    let Some(vm) = &rt.value else { return };
    let mut r = Reader::new(value, 0);
    let Ok(version) = r.i16() else {
        d.notes.push("could not read the version from the value".into());
        return;
    };
    let read_as = match pick_version(vm, version.into(), "value", &mut d.notes) {
        Ok(v) => v,
        Err(e) => {
            d.notes.push(e);
            d.value = json!({ "version": version });
            return;
        }
    };
    let mut ctx = Ctx::default();
    let mut out = Map::new();
    out.insert("version".into(), version.into());
    match wire::read_message(&mut r, vm, read_as, &mut ctx) {
        Ok(mut data) => {
            if !r.is_empty() {
                d.notes.push(format!("{} byte(s) left over after the value", r.remaining()));
            }
            post_process(d.kind, ty, &mut data, &mut ctx);
            out.insert("data".into(), Value::Object(data));
        }
        Err(e) => {
            d.notes.push(format!("could not read {} value version {version}: {e}", rt.name));
        }
    }
    d.notes.extend(ctx.notes);
    d.value = Value::Object(out);
}

/// Framing of `__cluster_metadata` and `__remote_log_metadata` values.
fn decode_framed(d: &mut TopicRecord, value: Option<&[u8]>) {
    let Some(value) = value else {
        d.tombstone = true;
        d.notes.push("the value is null".into());
        return;
    };
    let mut r = Reader::new(value, 0);
    let header = (|| Some((r.uvarint().ok()?, r.uvarint().ok()?, r.uvarint().ok()?)))();
    let Some((frame, ty, version)) = header else {
        d.notes.push("could not read the frame header (frame version, record type, version)".into());
        return;
    };
    if frame != 1 {
        d.notes.push(format!(
            "could not deserialize metadata record: unknown frame version {frame} (only frame version 1 is supported)"
        ));
        return;
    }
    d.record_type_id = i32::try_from(ty).ok();
    let mut out = Map::new();
    out.insert("type".into(), ty.into());
    out.insert("version".into(), version.into());
    let Some(rt) = d.record_type_id.and_then(|t| d.kind.schemas().get(t)) else {
        d.notes.push(format!("unknown record type {ty}; value shown raw"));
        d.value = Value::Object(out);
        return;
    };
    d.record_type = Some(rt.name.as_str());
    let Some(vm) = &rt.value else { return };
    let read_as = match pick_version(vm, version.into(), "record", &mut d.notes) {
        Ok(v) => v,
        Err(e) => {
            d.notes.push(e);
            d.value = Value::Object(out);
            return;
        }
    };
    let mut ctx = Ctx::default();
    match wire::read_message(&mut r, vm, read_as, &mut ctx) {
        Ok(mut data) => {
            if !r.is_empty() {
                d.notes.push(format!("found {} byte(s) of garbage after {}", r.remaining(), rt.name));
            }
            post_process(d.kind, ty as i16, &mut data, &mut ctx);
            out.insert("data".into(), Value::Object(data));
        }
        Err(e) => d.notes.push(format!("could not read {} version {version}: {e}", rt.name)),
    }
    d.notes.extend(ctx.notes);
    d.value = Value::Object(out);
}

/// Per-topic touches on decoded values: state names, and the consumer
/// protocol's subscription and assignment inside classic group metadata.
pub fn post_process(kind: TopicKind, ty: i16, data: &mut Map<String, Value>, ctx: &mut Ctx) {
    match (kind, ty) {
        (TopicKind::Transactions, 0) => name_int(data, "transactionStatus", transactions::state_name),
        (TopicKind::Offsets, 2) => expand_consumer_protocol(data, ctx),
        (TopicKind::RemoteLogMetadata, 0 | 1 | 3) => name_int(data, "remoteLogSegmentState", remote::segment_state),
        (TopicKind::RemoteLogMetadata, 2) => {
            name_int(data, "remotePartitionDeleteState", remote::partition_delete_state)
        }
        _ => {}
    }
}

fn name_int(data: &mut Map<String, Value>, field: &str, names: fn(i64) -> Option<&'static str>) {
    if let Some(v) = data.get_mut(field)
        && let Some(name) = v.as_i64().and_then(names)
    {
        *v = Value::String(name.into());
    }
}

/// With `protocolType == "consumer"`, each member's `subscription` and
/// `assignment` bytes hold an int16 version and a consumer protocol message;
/// they replace the base64 when they decode, and the base64 stays otherwise.
fn expand_consumer_protocol(data: &mut Map<String, Value>, ctx: &mut Ctx) {
    if data.get("protocolType").and_then(Value::as_str) != Some("consumer") {
        return;
    }
    let Some(Value::Array(members)) = data.get_mut("members") else { return };
    for m in members.iter_mut() {
        for (field, id) in [("subscription", 0), ("assignment", 1)] {
            let Some(slot) = m.get_mut(field) else { continue };
            let Some(bytes) = slot.as_str().and_then(|s| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(s).ok()
            }) else {
                continue;
            };
            match consumer_protocol_message(id, &bytes) {
                Ok(v) => *slot = v,
                Err(e) => ctx.notes.push(format!("member {field} kept as base64: {e}")),
            }
        }
    }
}

fn consumer_protocol_message(id: i32, bytes: &[u8]) -> Result<Value, String> {
    let m = consumer_protocol().get(id).and_then(|t| t.value.as_ref()).ok_or("no schema")?;
    let mut r = Reader::new(bytes, 0);
    let version = r.i16().map_err(|e| e.kind.to_string())?;
    if version < 0 {
        return Err(format!("invalid version {version}"));
    }
    // Newer versions only add fields at the end: read as the newest known.
    let read_as = version.min(m.max);
    let mut ctx = Ctx::default();
    Ok(Value::Object(wire::read_message(&mut r, m, read_as, &mut ctx)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_text_parses() {
        for k in TopicKind::ALL {
            assert!(!k.record_types().is_empty(), "{k:?}");
        }
        assert_eq!(consumer_protocol().types.len(), 2);
    }

    #[test]
    fn topic_kinds_from_paths() {
        let p = Path::new("/data/__consumer_offsets-7/00000000000000000000.log");
        assert_eq!(TopicKind::for_path(p), Some(TopicKind::Offsets));
        let p = Path::new("/data/__cluster_metadata-0/00000000000000000100-0000000001.checkpoint");
        assert_eq!(TopicKind::for_path(p), Some(TopicKind::Metadata));
        assert_eq!(TopicKind::for_path(Path::new("/data/bootstrap.checkpoint")), Some(TopicKind::Metadata));
        assert_eq!(TopicKind::for_path(Path::new("/data/orders-3/0.log")), None);
        assert_eq!(TopicKind::for_path(Path::new("/data/__transaction_state-x/0.log")), None);
        assert_eq!("share-group-state".parse::<TopicKind>(), Ok(TopicKind::ShareGroupState));
    }

    #[test]
    fn record_type_names_match_loosely() {
        let mut d = TopicRecord::new(TopicKind::Offsets);
        d.record_type = Some("OFFSET_COMMIT");
        d.record_type_id = Some(1);
        for n in ["OFFSET_COMMIT", "offset_commit", "OffsetCommit", "offset-commit", "1"] {
            assert!(d.type_matches(n), "{n}");
        }
        assert!(!d.type_matches("GROUP_METADATA"));
        d.record_type = Some("PARTITION_RECORD");
        assert!(d.type_matches("partition") && d.type_matches("PartitionRecord"));
    }

    fn s16(s: &str) -> Vec<u8> {
        let mut v = (s.len() as i16).to_be_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn offset_commit_round_trip() {
        let mut key = vec![0, 1];
        key.extend(s16("g"));
        key.extend(s16("t"));
        key.extend(3i32.to_be_bytes());
        let mut value = vec![0, 3];
        value.extend(42i64.to_be_bytes());
        value.extend(7i32.to_be_bytes());
        value.extend(s16(""));
        value.extend(1000i64.to_be_bytes());
        let d = decode_record(TopicKind::Offsets, Some(&key), Some(&value));
        assert_eq!(d.record_type, Some("OFFSET_COMMIT"));
        assert_eq!(d.key.to_string(), r#"{"type":1,"data":{"group":"g","topic":"t","partition":3}}"#);
        assert_eq!(
            d.value.to_string(),
            r#"{"version":3,"data":{"offset":42,"leaderEpoch":7,"metadata":"","commitTimestamp":1000}}"#
        );
        assert!(d.notes.is_empty(), "{:?}", d.notes);
        assert_eq!(d.group_id(), Some("g"));
        let t = decode_record(TopicKind::Offsets, Some(&key), None);
        assert!(t.tombstone);
        assert_eq!(t.texts().1, "<DELETE>");
    }

    #[test]
    fn unknown_types_and_bad_values_are_notes() {
        let d = decode_record(TopicKind::Offsets, Some(&[0x7f, 0xff]), Some(&[0, 0]));
        assert_eq!(d.record_type, None);
        assert_eq!(d.key.to_string(), r#"{"type":32767}"#);
        assert!(d.notes[0].contains("unknown record type 32767"));
        let d = decode_record(TopicKind::Metadata, None, Some(b"corrupted"));
        assert!(d.notes[0].contains("could not deserialize metadata record"), "{:?}", d.notes);
    }
}
