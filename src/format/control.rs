//! Control records: transaction markers and KRaft control messages.
//!
//! The key is `version:int16, type:int16`; the value depends on the type.
//! KRaft values are "flexible" protocol messages: compact arrays and strings
//! (unsigned varint length + 1, 0 = null) and a tagged-field section at the end
//! of every struct, which we skip since we know no tags.

use base64::Engine;
use serde::Serialize;

use crate::format::bytes::Reader;
use crate::format::error::{ErrorKind, Result};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlRecord {
    /// ABORT, COMMIT, LEADER_CHANGE, SNAPSHOT_HEADER, SNAPSHOT_FOOTER,
    /// KRAFT_VERSION, KRAFT_VOTERS or UNKNOWN.
    #[serde(rename = "type")]
    pub type_name: &'static str,
    pub type_id: i16,
    pub key_version: i16,
    #[serde(flatten)]
    pub value: ControlValue,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ControlValue {
    EndTxn {
        version: i16,
        coordinator_epoch: i32,
    },
    LeaderChange {
        version: i16,
        leader_id: i32,
        voters: Vec<i32>,
        granting_voters: Vec<i32>,
    },
    SnapshotHeader {
        version: i16,
        last_contained_log_timestamp: i64,
    },
    SnapshotFooter {
        version: i16,
    },
    KRaftVersion {
        version: i16,
        kraft_version: i16,
    },
    KRaftVoters {
        version: i16,
        voters: Vec<Voter>,
    },
    /// An unknown control type: the value is not interpreted.
    Unknown {},
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Voter {
    pub voter_id: i32,
    /// Kafka's Uuid text form: URL-safe base64 without padding.
    pub voter_directory_id: String,
    pub endpoints: Vec<Endpoint>,
    pub kraft_version_feature: VersionRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub name: String,
    pub host: String,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionRange {
    pub min_supported_version: i16,
    pub max_supported_version: i16,
}

pub fn type_name(id: i16) -> &'static str {
    match id {
        0 => "ABORT",
        1 => "COMMIT",
        2 => "LEADER_CHANGE",
        3 => "SNAPSHOT_HEADER",
        4 => "SNAPSHOT_FOOTER",
        5 => "KRAFT_VERSION",
        6 => "KRAFT_VOTERS",
        _ => "UNKNOWN",
    }
}

fn bad(msg: impl Into<String>) -> ErrorKind {
    ErrorKind::Control(msg.into())
}

impl ControlRecord {
    /// Decode a control record from its key and value. Errors carry no
    /// position; the caller places them at the record.
    pub fn parse(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Self, ErrorKind> {
        let key = key.ok_or_else(|| bad("control record has a null key"))?;
        if key.len() < 4 {
            return Err(bad(format!("control record key has {} bytes, needs 4", key.len())));
        }
        let key_version = i16::from_be_bytes([key[0], key[1]]);
        if key_version < 0 {
            return Err(bad(format!("invalid control record key version {key_version}")));
        }
        let type_id = i16::from_be_bytes([key[2], key[3]]);
        let value = match type_id {
            0..=6 => {
                let v = value.ok_or_else(|| bad(format!("{} control record has a null value", type_name(type_id))))?;
                parse_value(type_id, v).map_err(|e| match e.kind {
                    ErrorKind::Control(m) => bad(format!("{} value: {m}", type_name(type_id))),
                    k => bad(format!("{} value: {k}", type_name(type_id))),
                })?
            }
            _ => ControlValue::Unknown {},
        };
        Ok(ControlRecord { type_name: type_name(type_id), type_id, key_version, value })
    }
}

fn parse_value(type_id: i16, bytes: &[u8]) -> Result<ControlValue> {
    let mut r = Reader::new(bytes, 0);
    let version = r.i16()?;
    let value = match type_id {
        0 | 1 => {
            if version < 0 {
                return Err(r.error_at(0, bad(format!("invalid end transaction marker version {version}"))));
            }
            ControlValue::EndTxn { version, coordinator_epoch: r.i32()? }
        }
        2 => {
            let leader_id = r.i32()?;
            let voters = compact_array(&mut r, voter_id)?;
            let granting_voters = compact_array(&mut r, voter_id)?;
            skip_tags(&mut r)?;
            ControlValue::LeaderChange { version, leader_id, voters, granting_voters }
        }
        3 => {
            let last_contained_log_timestamp = r.i64()?;
            skip_tags(&mut r)?;
            ControlValue::SnapshotHeader { version, last_contained_log_timestamp }
        }
        4 => {
            skip_tags(&mut r)?;
            ControlValue::SnapshotFooter { version }
        }
        5 => {
            let kraft_version = r.i16()?;
            skip_tags(&mut r)?;
            ControlValue::KRaftVersion { version, kraft_version }
        }
        _ => {
            let voters = compact_array(&mut r, voter)?;
            skip_tags(&mut r)?;
            ControlValue::KRaftVoters { version, voters }
        }
    };
    Ok(value)
}

fn voter_id(r: &mut Reader<'_>) -> Result<i32> {
    let id = r.i32()?;
    skip_tags(r)?;
    Ok(id)
}

fn voter(r: &mut Reader<'_>) -> Result<Voter> {
    let voter_id = r.i32()?;
    let dir = r.uuid()?;
    let endpoints = compact_array(r, |r| {
        let name = compact_string(r)?;
        let host = compact_string(r)?;
        let port = r.u16()?;
        skip_tags(r)?;
        Ok(Endpoint { name, host, port })
    })?;
    let min_supported_version = r.i16()?;
    let max_supported_version = r.i16()?;
    skip_tags(r)?;
    skip_tags(r)?;
    Ok(Voter {
        voter_id,
        voter_directory_id: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(dir),
        endpoints,
        kraft_version_feature: VersionRange { min_supported_version, max_supported_version },
    })
}

/// A compact array; each element needs at least one byte, so a count larger
/// than the bytes left is rejected. Nothing is reserved from the claimed
/// count: an element may be much larger in memory than its bytes.
fn compact_array<T>(r: &mut Reader<'_>, mut item: impl FnMut(&mut Reader<'_>) -> Result<T>) -> Result<Vec<T>> {
    let at = r.offset();
    let n = r.uvarint()?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let len = (n - 1) as usize;
    if len > r.remaining() {
        return Err(r.error_at(at, ErrorKind::BadLength(len as i64)));
    }
    let mut out = Vec::new();
    for _ in 0..len {
        out.push(item(r)?);
    }
    Ok(out)
}

fn compact_string(r: &mut Reader<'_>) -> Result<String> {
    let at = r.offset();
    let n = r.uvarint()?;
    if n == 0 {
        return Err(r.error_at(at, bad("null string")));
    }
    Ok(String::from_utf8_lossy(r.take((n - 1) as usize)?).into_owned())
}

fn skip_tags(r: &mut Reader<'_>) -> Result<()> {
    let count = r.uvarint()?;
    for _ in 0..count {
        r.uvarint()?;
        let size = r.uvarint()?;
        r.take(size as usize)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_abort_markers() {
        // Key and value of an ABORT marker with coordinator epoch 3 (the bytes
        // kafka-python's test suite and the reference give: 00000000 / 000000000003).
        let c = ControlRecord::parse(Some(&[0, 0, 0, 0]), Some(&[0, 0, 0, 0, 0, 3])).unwrap();
        assert_eq!(c.type_name, "ABORT");
        assert_eq!(c.value, ControlValue::EndTxn { version: 0, coordinator_epoch: 3 });
        let c = ControlRecord::parse(Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 9])).unwrap();
        assert_eq!(c.type_name, "COMMIT");
    }

    #[test]
    fn unknown_types_keep_their_id() {
        let c = ControlRecord::parse(Some(&[0, 0, 0, 99]), Some(b"??")).unwrap();
        assert_eq!((c.type_name, c.type_id), ("UNKNOWN", 99));
    }

    #[test]
    fn leader_change_is_decoded() {
        // version 0, leader 1, voters [1,2], granting [1], no tags.
        let v = [0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 1, 0, 0];
        let c = ControlRecord::parse(Some(&[0, 0, 0, 2]), Some(&v)).unwrap();
        assert_eq!(
            c.value,
            ControlValue::LeaderChange { version: 0, leader_id: 1, voters: vec![1, 2], granting_voters: vec![1] }
        );
    }

    #[test]
    fn short_keys_and_negative_versions_are_errors() {
        assert!(ControlRecord::parse(Some(&[0, 0, 0]), None).is_err());
        assert!(ControlRecord::parse(Some(&[0xff, 0xff, 0, 1]), Some(&[0, 0, 0, 0, 0, 0])).is_err());
        assert!(ControlRecord::parse(Some(&[0, 0, 0, 1]), Some(&[0, 0, 0])).is_err());
    }
}
