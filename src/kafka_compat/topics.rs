//! The text Kafka's `DumpLogSegments` decoders print for a record
//! (`--offsets-decoder`, `--transaction-log-decoder`,
//! `--share-group-state-decoder`, `--cluster-metadata-decoder`,
//! `--remote-log-metadata-decoder`), for `kseg kafka-dump-log`.
//!
//! The decoded `data` objects are kseg's own (see [`kseg::topics::decode_record`]);
//! this module only changes their wrapping and rendering to what the Java
//! tool prints:
//!
//! * coordinator topics: key `{"type":"<id>","data":…}` and value
//!   `{"version":"<v>","data":…}` (the numbers as JSON **strings**),
//!   `<DELETE>` for a tombstone; a failure replaces the key with
//!   `Unknown record type <t> at offset <o>, skipping.` or
//!   `Error at offset <o>, skipping. <message>` and prints no payload;
//! * `__cluster_metadata`: only a payload,
//!   `{"type":"<NAME>","version":<v>,"data":…}`, or
//!   `Error at <o>, skipping. <message>`;
//! * `__remote_log_metadata`: only a payload, the Java `toString()` of the
//!   domain object, or `Error at offset <o>, skipping. <message>`;
//! * JSON as Jackson writes it: compact, `_unknownTaggedFields` left out
//!   (Kafka keeps unknown tags but its JSON converters never write them),
//!   `\u00XX` escapes in upper case, `float64` in Java's `Double.toString`
//!   form.
//!
//! The failure messages are Kafka's (`CoordinatorRecordSerde`,
//! `AbstractApiMessageSerde`, the generated readers); for the rarer shapes
//! of corrupt bytes the cause text is the closest Kafka message (see
//! docs/kafka-dump-log.md).

use serde_json::{Map, Value};

use kseg::format::bytes::Reader;
use kseg::topics::schema::Message;
use kseg::topics::{TopicKind, post_process, wire};

/// A coordinator decoder met a record without a key: fatal in Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingKey;

/// What `DumpLogSegments` prints after `key: ` and `payload: `.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KafkaText {
    pub key: Option<String>,
    pub payload: Option<String>,
}

/// The decoder text of one record at `offset`.
pub fn record_text(
    kind: TopicKind,
    offset: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    version: super::KafkaVersion,
) -> Result<KafkaText, MissingKey> {
    match kind {
        TopicKind::Offsets | TopicKind::Transactions | TopicKind::ShareGroupState => {
            let Some(key) = key else { return Err(MissingKey) };
            Ok(match coordinator(kind, key, value, version) {
                Ok((k, v)) => KafkaText { key: Some(k), payload: Some(v) },
                Err(CoordError::UnknownType(t)) => KafkaText {
                    key: Some(format!("Unknown record type {t} at offset {offset}, skipping.")),
                    payload: None,
                },
                Err(CoordError::Other(m)) => {
                    KafkaText { key: Some(format!("Error at offset {offset}, skipping. {m}")), payload: None }
                }
            })
        }
        TopicKind::Metadata => {
            let text = match value.ok_or_else(|| "null".to_string()).and_then(|v| framed(kind, v, version)) {
                Ok((name, version, data)) => {
                    let mut s = String::from("{\"type\":");
                    write_json_str(&mut s, name);
                    s.push_str(&format!(",\"version\":{version},\"data\":"));
                    write_json(&mut s, &Value::Object(data));
                    s.push('}');
                    s
                }
                Err(m) => format!("Error at {offset}, skipping. {m}"),
            };
            Ok(KafkaText { key: None, payload: Some(text) })
        }
        TopicKind::RemoteLogMetadata => {
            let text = value
                .ok_or_else(|| "null".to_string())
                .and_then(|v| framed(kind, v, version))
                .and_then(|(name, _, data)| remote_to_string(name, &data))
                .unwrap_or_else(|m| format!("Error at offset {offset}, skipping. {m}"));
            Ok(KafkaText { key: None, payload: Some(text) })
        }
    }
}

enum CoordError {
    UnknownType(i16),
    Other(String),
}

/// A wire error as the message of the exception Kafka's generated reader
/// throws for the same bytes.
fn cause(e: &str) -> String {
    if let Some(rest) = e.strip_prefix("Error reading string of ") {
        // `ByteBufferAccessor.readString` reads a byte array first.
        format!("Error reading byte array of {rest}")
    } else if e.starts_with("Error reading") || e.starts_with("non-nullable field") {
        e.to_string()
    } else if let Some((_, rest)) = e.split_once(" claims ") {
        // "array X claims N elements, M bytes left"
        let n = rest.split(' ').next().unwrap_or("0");
        let m = rest.split(", ").nth(1).and_then(|s| s.split(' ').next()).unwrap_or("0");
        format!("Tried to allocate a collection of size {n}, but there are only {m} bytes remaining.")
    } else {
        // A fixed-width read past the end: `BufferUnderflowException`,
        // whose message is null.
        "null".to_string()
    }
}

/// Read at the record's version, or at the newest kseg knows when the
/// record is newer (Kafka's readers do not check the version: a newer one
/// reads the same fields plus tags, and unknown tags are not printed).
fn read_at(r: &mut Reader<'_>, m: &Message, version: i16) -> Result<Map<String, Value>, String> {
    let mut ctx = wire::Ctx::default();
    let read_as = version.clamp(m.min, m.max);
    wire::read_message(r, m, read_as, &mut ctx).map_err(|e| cause(&e))
}

fn coordinator(
    kind: TopicKind,
    key: &[u8],
    value: Option<&[u8]>,
    tool: super::KafkaVersion,
) -> Result<(String, String), CoordError> {
    let mut r = Reader::new(key, 0);
    let ty = r.i16().map_err(|_| CoordError::Other("Could not read version from key's buffer.".into()))?;
    let rt = kind.schemas().get(ty.into()).ok_or(CoordError::UnknownType(ty))?;
    let key_data = match &rt.key {
        Some(km) => read_at(&mut r, km, 0).map_err(|e| {
            CoordError::Other(format!("Could not read record with version {ty} from key's buffer due to: {e}."))
        })?,
        None => Map::new(),
    };
    let mut k = format!("{{\"type\":\"{ty}\",\"data\":");
    write_json(&mut k, &Value::Object(key_data));
    k.push('}');
    let Some(value) = value else { return Ok((k, "<DELETE>".into())) };
    let Some(vm) = &rt.value else { return Err(CoordError::UnknownType(ty)) };
    let mut r = Reader::new(value, 0);
    let version = r.i16().map_err(|_| CoordError::Other("Could not read version from value's buffer.".into()))?;
    let mut data = read_at(&mut r, vm, version).map_err(|e| {
        CoordError::Other(format!("Could not read record with version {version} from value's buffer due to: {e}."))
    })?;
    // Before 4.4 the transaction log's state was printed as its number.
    if kind != TopicKind::Transactions || tool.names_transaction_states() {
        post_process(kind, ty, &mut data, &mut wire::Ctx::default());
    }
    if tool.scala_text() {
        forget_after_4_1(kind, ty, &mut data);
    }
    let mut v = format!("{{\"version\":\"{version}\",\"data\":");
    write_json(&mut v, &Value::Object(data));
    v.push('}');
    Ok((k, v))
}

/// `AbstractApiMessageSerde.read`: frame version, type and version
/// uvarints, then the record, with Kafka's messages for each failure.
/// The highest version of each `__cluster_metadata` record type that Kafka
/// 4.1 reads (the `validVersions` of its `common/metadata/*Record.json`);
/// a newer version, as a 4.3 broker writes, fails there.
/// (Found on a 4.4 broker's log: RegisterBrokerRecord v4 fails; a
/// BrokerRegistrationChangeRecord v3 is read, its new tagged field skipped.)
const METADATA_MAX_VERSION_4_1: &[(i16, i16)] = &[(0, 3), (3, 2), (5, 2), (17, 3)];

/// Tagged fields newer than Kafka 4.1, which its reader skips as unknown
/// tags and so never prints: (topic, record type, path in the value's
/// data, `[]` for every element of an array).
const TAGGED_AFTER_4_1: &[(TopicKind, i16, &str)] = &[
    (TopicKind::Metadata, 17, "cordonedLogDirs"),
    (TopicKind::Offsets, 6, "assignmentTimestamp"),
    (TopicKind::Offsets, 8, "assignedPartitions[].assignmentEpochs"),
];

/// Remove what Kafka 4.1 does not know from a decoded value.
fn forget_after_4_1(kind: TopicKind, ty: i16, data: &mut Map<String, Value>) {
    fn remove(data: &mut Map<String, Value>, path: &str) {
        match path.split_once("[].") {
            None => {
                data.remove(path);
            }
            Some((array, rest)) => {
                if let Some(Value::Array(items)) = data.get_mut(array) {
                    for item in items.iter_mut() {
                        if let Value::Object(m) = item {
                            remove(m, rest);
                        }
                    }
                }
            }
        }
    }
    for (_, _, path) in TAGGED_AFTER_4_1.iter().filter(|(k, t, _)| *k == kind && *t == ty) {
        remove(data, path);
    }
}

fn framed(
    kind: TopicKind,
    value: &[u8],
    release: super::KafkaVersion,
) -> Result<(&'static str, i16, Map<String, Value>), String> {
    let mut r = Reader::new(value, 0);
    let mut short = |what: &str| -> Result<i16, String> {
        let v = r.uvarint().map_err(|_| format!("Error while reading {what}"))?;
        // Java reads an int: values past i32::MAX are negative there.
        let v = v as i32;
        if v > i32::from(i16::MAX) {
            return Err(format!("Value for {what} was too large."));
        }
        Ok(v as i16)
    };
    let frame = short("frame version")?;
    if frame == 0 {
        return Err("Could not deserialize metadata record with frame version 0. Note that upgrades from the preview release of KRaft in 2.8 to newer versions are not supported.".into());
    } else if frame != 1 {
        return Err(format!(
            "Could not deserialize metadata record due to unknown frame version {frame}(only frame version 1 is supported)"
        ));
    }
    let ty = short("type")?;
    let version = short("version")?;
    let Some(rt) = kind.schemas().get(ty.into()) else {
        return Err(format!("org.apache.kafka.common.errors.UnsupportedVersionException: Unknown metadata id {ty}"));
    };
    let Some(vm) = &rt.value else { return Err(format!("Failed to deserialize record with type {ty}")) };
    if kind == TopicKind::Metadata && release.scala_text() {
        let max = METADATA_MAX_VERSION_4_1.iter().find(|(t, _)| *t == ty).map_or(0, |(_, m)| *m);
        if version > max {
            return Err(format!("Failed to deserialize record with type {ty}"));
        }
    }
    let mut data = read_at(&mut r, vm, version).map_err(|_| format!("Failed to deserialize record with type {ty}"))?;
    if !r.is_empty() {
        return Err(format!("Found {} byte(s) of garbage after {ty}", r.remaining()));
    }
    post_process(kind, ty, &mut data, &mut wire::Ctx::default());
    if release.scala_text() {
        forget_after_4_1(kind, ty, &mut data);
    }
    Ok((rt.name.as_str(), version, data))
}

fn num(d: &Map<String, Value>, k: &str) -> String {
    d.get(k).map(|v| v.to_string()).unwrap_or_default()
}

fn text(d: &Map<String, Value>, k: &str) -> String {
    match d.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "null".into(),
        Some(v) => v.to_string(),
    }
}

/// `TopicIdPartition.toString()`: `<uuid>:<topic>-<partition>`.
fn topic_id_partition(v: Option<&Value>) -> String {
    let Some(Value::Object(t)) = v else { return "null".into() };
    format!("{}:{}-{}", text(t, "id"), text(t, "name"), num(t, "partition"))
}

/// `Optional<CustomMetadata>.toString()`.
fn custom_metadata(d: &Map<String, Value>) -> String {
    match d.get("customMetadata").and_then(Value::as_str) {
        Some(b64) => {
            use base64::Engine;
            let n = base64::engine::general_purpose::STANDARD.decode(b64).map(|b| b.len()).unwrap_or(0);
            format!("Optional[CustomMetadata{{{n} bytes}}]")
        }
        None => "Optional.empty".into(),
    }
}

/// The segment leader epochs as the `TreeMap` Kafka builds from them
/// (later entries win, keys sorted): `{0=0, 1=100}`.
fn leader_epochs(d: &Map<String, Value>) -> Result<String, String> {
    let mut m = std::collections::BTreeMap::new();
    for e in d.get("segmentLeaderEpochs").and_then(Value::as_array).into_iter().flatten() {
        m.insert(e.get("leaderEpoch").and_then(Value::as_i64).unwrap_or(0), num_of(e, "offset"));
    }
    if m.is_empty() {
        return Err("segmentLeaderEpochs can not be null or empty".into());
    }
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(format!("{{{}}}", parts.join(", ")))
}

fn num_of(v: &Value, k: &str) -> String {
    v.get(k).map(|x| x.to_string()).unwrap_or_default()
}

/// A state named by `post_process`, or Kafka's null-state failure.
fn state(d: &Map<String, Value>, k: &str, message: &str) -> Result<String, String> {
    match d.get(k) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(message.into()),
    }
}

/// `RemoteLogMetadataSerde.deserialize(…).toString()`.
fn remote_to_string(name: &str, d: &Map<String, Value>) -> Result<String, String> {
    let segment_id = |d: &Map<String, Value>| -> String {
        let id = d.get("remoteLogSegmentId").and_then(Value::as_object);
        match id {
            Some(id) => format!(
                "RemoteLogSegmentId{{topicIdPartition={}, id={}}}",
                topic_id_partition(id.get("topicIdPartition")),
                text(id, "id")
            ),
            None => "null".into(),
        }
    };
    let txn_empty = |d: &Map<String, Value>| d.get("txnIndexEmpty").and_then(Value::as_bool).unwrap_or(false);
    Ok(match name {
        "REMOTE_LOG_SEGMENT_METADATA_RECORD" => {
            let (start, end) = (
                d.get("startOffset").and_then(Value::as_i64).unwrap_or(0),
                d.get("endOffset").and_then(Value::as_i64).unwrap_or(0),
            );
            if start < 0 {
                return Err(format!(
                    "Unexpected start offset = {start}. StartOffset for a remote segment cannot be negative"
                ));
            }
            if end < start {
                return Err(format!(
                    "Unexpected end offset = {end}. EndOffset for a remote segment cannot be less than startOffset = {start}"
                ));
            }
            let epochs = leader_epochs(d)?;
            let st = state(d, "remoteLogSegmentState", "state can not be null")?;
            format!(
                "RemoteLogSegmentMetadata{{remoteLogSegmentId={}, startOffset={start}, endOffset={end}, brokerId={}, maxTimestampMs={}, eventTimestampMs={}, segmentLeaderEpochs={epochs}, segmentSizeInBytes={}, customMetadata={}, state={st}, txnIdxEmpty={}}}",
                segment_id(d),
                num(d, "brokerId"),
                num(d, "maxTimestampMs"),
                num(d, "eventTimestampMs"),
                num(d, "segmentSizeInBytes"),
                custom_metadata(d),
                txn_empty(d)
            )
        }
        "REMOTE_LOG_SEGMENT_METADATA_UPDATE_RECORD" => {
            let st = state(d, "remoteLogSegmentState", "state can not be null")?;
            format!(
                "RemoteLogSegmentMetadataUpdate{{remoteLogSegmentId={}, customMetadata={}, state={st}, eventTimestampMs={}, brokerId={}}}",
                segment_id(d),
                custom_metadata(d),
                num(d, "eventTimestampMs"),
                num(d, "brokerId")
            )
        }
        "REMOTE_PARTITION_DELETE_METADATA_RECORD" => {
            let st = state(d, "remotePartitionDeleteState", "null")?;
            format!(
                "RemotePartitionDeleteMetadata{{topicPartition={}, state={st}, eventTimestampMs={}, brokerId={}}}",
                topic_id_partition(d.get("topicIdPartition")),
                num(d, "eventTimestampMs"),
                num(d, "brokerId")
            )
        }
        _ => {
            let epochs = leader_epochs(d)?;
            let st = state(d, "remoteLogSegmentState", "state can not be null")?;
            format!(
                "RemoteLogSegmentMetadataSnapshot{{segmentId={}, startOffset={}, endOffset={}, maxTimestampMs={}, segmentLeaderEpochs={epochs}, segmentSizeInBytes={}, customMetadata={}, state={st}, txnIdxEmpty={}}}",
                text(d, "segmentId"),
                num(d, "startOffset"),
                num(d, "endOffset"),
                num(d, "maxTimestampMs"),
                num(d, "segmentSizeInBytes"),
                custom_metadata(d),
                txn_empty(d)
            )
        }
    })
}

/// Compact JSON as Jackson's `ObjectNode.toString()` writes it.
pub fn write_json(s: &mut String, v: &Value) {
    match v {
        Value::Null => s.push_str("null"),
        Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                s.push_str(&java_double(n.as_f64().unwrap_or(0.0)));
            } else {
                s.push_str(&n.to_string());
            }
        }
        Value::String(t) => write_json_str(s, t),
        Value::Array(a) => {
            s.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                write_json(s, x);
            }
            s.push(']');
        }
        Value::Object(m) => {
            s.push('{');
            let mut first = true;
            for (k, x) in m {
                if k == wire::UNKNOWN_TAGS {
                    continue;
                }
                if !first {
                    s.push(',');
                }
                first = false;
                write_json_str(s, k);
                s.push(':');
                write_json(s, x);
            }
            s.push('}');
        }
    }
}

/// A JSON string with Jackson's escapes: `\"`, `\\`, `\b \t \n \f \r`, other
/// control characters as `\u00XX` (upper-case hex), everything else raw.
pub fn write_json_str(s: &mut String, t: &str) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\u{8}' => s.push_str("\\b"),
            '\t' => s.push_str("\\t"),
            '\n' => s.push_str("\\n"),
            '\u{c}' => s.push_str("\\f"),
            '\r' => s.push_str("\\r"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04X}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
}

/// Java's `Double.toString`: plain form with at least one decimal for
/// 1e-3 <= |d| < 1e7, otherwise `<digit>.<digits>E<exp>`; shortest digits
/// that round-trip (as Rust's formatting, and Java since JDK 19).
pub fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let a = d.abs();
    let sign = if d < 0.0 { "-" } else { "" };
    if (1e-3..1e7).contains(&a) {
        let t = format!("{a}");
        let t = if t.contains('.') { t } else { format!("{t}.0") };
        return format!("{sign}{t}");
    }
    let e = format!("{a:e}"); // "1.234e7"
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let mant = if mant.contains('.') { mant.to_string() } else { format!("{mant}.0") };
    format!("{sign}{mant}E{exp}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka_compat::KafkaVersion;

    #[test]
    fn doubles_as_java_prints_them() {
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1234.5), "1234.5");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(-2.5e-7), "-2.5E-7");
        assert_eq!(java_double(1.2345e20), "1.2345E20");
    }

    #[test]
    fn jackson_escapes() {
        let mut s = String::new();
        write_json_str(&mut s, "a\"\\\n\u{1}é");
        assert_eq!(s, "\"a\\\"\\\\\\n\\u0001é\"");
    }

    #[test]
    fn coordinator_failures() {
        let t = record_text(TopicKind::Offsets, 5, Some(&[0x7f, 0xff]), Some(&[0, 0]), KafkaVersion::V4_4).unwrap();
        assert_eq!(t.key.as_deref(), Some("Unknown record type 32767 at offset 5, skipping."));
        assert_eq!(t.payload, None);
        assert_eq!(record_text(TopicKind::Offsets, 0, None, None, KafkaVersion::V4_4), Err(MissingKey));
        let t = record_text(TopicKind::Offsets, 0, Some(&[0]), None, KafkaVersion::V4_4).unwrap();
        assert_eq!(t.key.as_deref(), Some("Error at offset 0, skipping. Could not read version from key's buffer."));
    }
}
