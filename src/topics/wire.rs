//! The one generic reader for Kafka's message encoding, driven by a
//! [`Message`] schema and producing JSON the way Kafka's generated
//! `*JsonConverter`s write it: fields in schema order, camelCase names, only
//! the fields of that version, tagged fields only when present, UUIDs as
//! URL-safe base64 without padding, bytes as standard base64, nulls as `null`.
//!
//! Encoding rules (Kafka's `MessageDataGenerator`):
//! * fixed-width big-endian integers; `bool` is one byte (non-zero = true);
//!   `float64` is an IEEE 754 double; `uuid` is 16 bytes;
//! * non-flexible versions: `string` = int16 length, `bytes` = int32 length,
//!   arrays = int32 count, −1 meaning null;
//! * flexible versions: compact forms, unsigned varint of length + 1 (0 = null),
//!   and after every struct's fields a tagged-field section: uvarint count,
//!   then per field uvarint tag, uvarint size and the field's bytes;
//! * a nullable struct starts with an int8: −1 null, 1 present; a nullable
//!   struct in a tagged field starts with a uvarint instead: 0 null, else
//!   present (the generated `read`/`write` of Kafka 4.4.0's
//!   `ConsumerGroupMemberMetadataValue`, whose tag 0 `classicMemberMetadata`
//!   a broker writes even when null: tag 0, size 1, byte 0).
//!
//! Unknown tags are kept, as hex, under `_unknownTaggedFields`, with a note.

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::schema::{Field, Message, Ty};
use crate::format::bytes::Reader;
use crate::format::error::ErrorKind;

/// Name of the JSON member that holds tags the schema does not know.
pub const UNKNOWN_TAGS: &str = "_unknownTaggedFields";

/// A read failure, as text for a note.
pub type WireResult<T> = Result<T, String>;

fn err(e: crate::format::error::DecodeError) -> String {
    format!("{} at byte {}", e.kind, e.position)
}

/// What a read collects besides the value: notes about unknown tags.
#[derive(Default, Debug)]
pub struct Ctx {
    pub notes: Vec<String>,
}

pub fn uuid_text(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn base64_text(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Read a whole message (a struct at `version`) from `r`.
pub fn read_message(r: &mut Reader<'_>, m: &Message, version: i16, ctx: &mut Ctx) -> WireResult<Map<String, Value>> {
    read_struct(r, &m.fields, version, version >= m.flex, ctx)
}

pub fn read_struct(
    r: &mut Reader<'_>,
    fields: &[Field],
    version: i16,
    flexible: bool,
    ctx: &mut Ctx,
) -> WireResult<Map<String, Value>> {
    let mut values: Vec<Option<Value>> = vec![None; fields.len()];
    for (i, f) in fields.iter().enumerate() {
        if f.tag.is_some() || !f.present(version) {
            continue;
        }
        values[i] = Some(read_value(r, &f.ty, &f.name, f.nullable(version), version, flexible, ctx)?);
    }
    let mut unknown = Vec::new();
    if flexible {
        let count = r.uvarint().map_err(err)?;
        if count as usize > r.remaining() {
            return Err(format!("{count} tagged fields claimed, {} bytes left", r.remaining()));
        }
        for _ in 0..count {
            let tag = r.uvarint().map_err(err)?;
            let size = r.uvarint().map_err(err)? as usize;
            let mut sub = r.sub(size).map_err(err)?;
            match fields.iter().position(|f| f.tag == Some(tag) && f.present(version)) {
                Some(i) => {
                    let f = &fields[i];
                    let v = read_tagged(&mut sub, f, version, ctx)?;
                    if !sub.is_empty() {
                        ctx.notes.push(format!("tagged field {} has {} bytes left over", f.name, sub.remaining()));
                    }
                    values[i] = Some(v);
                }
                None => {
                    ctx.notes.push(format!("unknown tagged field {tag} ({size} bytes) shown raw"));
                    let mut o = Map::new();
                    o.insert("tag".into(), tag.into());
                    o.insert("hex".into(), hex(sub.rest()).into());
                    unknown.push(Value::Object(o));
                }
            }
        }
    }
    let mut out = Map::new();
    for (f, v) in fields.iter().zip(values) {
        if let Some(v) = v {
            out.insert(f.name.clone(), v);
        }
    }
    if !unknown.is_empty() {
        out.insert(UNKNOWN_TAGS.into(), Value::Array(unknown));
    }
    Ok(out)
}

/// A tagged field's value: as any other, except that a nullable struct
/// leads with a uvarint (0 = null) rather than an int8.
fn read_tagged(r: &mut Reader<'_>, f: &Field, version: i16, ctx: &mut Ctx) -> WireResult<Value> {
    match &f.ty {
        Ty::Struct(fields) if f.nullable(version) => {
            if r.uvarint().map_err(err)? == 0 {
                Ok(Value::Null)
            } else {
                Ok(Value::Object(read_struct(r, fields, version, true, ctx)?))
            }
        }
        ty => read_value(r, ty, &f.name, f.nullable(version), version, true, ctx),
    }
}

fn non_null(name: &str) -> String {
    format!("non-nullable field {name} was serialized as null")
}

/// Length of a string, bytes or array: compact uvarint (flexible) or the
/// fixed-width form; `None` for null.
fn length(r: &mut Reader<'_>, flexible: bool, wide: bool) -> WireResult<Option<usize>> {
    let at = r.offset();
    let n: i64 = if flexible {
        i64::from(r.uvarint().map_err(err)?) - 1
    } else if wide {
        i64::from(r.i32().map_err(err)?)
    } else {
        i64::from(r.i16().map_err(err)?)
    };
    match n {
        -1 => Ok(None),
        n if n < 0 => Err(err(r.error_at(at, ErrorKind::BadLength(n)))),
        n => Ok(Some(n as usize)),
    }
}

fn read_value(
    r: &mut Reader<'_>,
    ty: &Ty,
    name: &str,
    nullable: bool,
    version: i16,
    flexible: bool,
    ctx: &mut Ctx,
) -> WireResult<Value> {
    Ok(match ty {
        Ty::Bool => Value::Bool(r.u8().map_err(err)? != 0),
        Ty::Int8 => r.i8().map_err(err)?.into(),
        Ty::Int16 => r.i16().map_err(err)?.into(),
        Ty::Uint16 => r.u16().map_err(err)?.into(),
        Ty::Int32 => r.i32().map_err(err)?.into(),
        Ty::Int64 => r.i64().map_err(err)?.into(),
        Ty::Float64 => {
            let f = f64::from_bits(r.i64().map_err(err)? as u64);
            Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(f.to_string()))
        }
        Ty::Uuid => uuid_text(&r.uuid().map_err(err)?).into(),
        Ty::String | Ty::Bytes => {
            let is_bytes = *ty == Ty::Bytes;
            match length(r, flexible, is_bytes)? {
                None if nullable => Value::Null,
                None => return Err(non_null(name)),
                Some(n) => {
                    let b = r.take(n).map_err(|e| {
                        format!(
                            "Error reading {} of {n} byte(s): only {} byte(s) available",
                            if is_bytes { "byte array" } else { "string" },
                            e.kind_remaining()
                        )
                    })?;
                    if is_bytes { base64_text(b).into() } else { String::from_utf8_lossy(b).into_owned().into() }
                }
            }
        }
        Ty::Array(elem) => match length(r, flexible, true)? {
            None if nullable => Value::Null,
            None => return Err(non_null(name)),
            Some(n) => {
                // Every element takes at least one byte: a larger count is a lie.
                if n > r.remaining() {
                    return Err(format!("array {name} claims {n} elements, {} bytes left", r.remaining()));
                }
                let mut out = Vec::new();
                for _ in 0..n {
                    out.push(read_value(r, elem, name, false, version, flexible, ctx)?);
                }
                Value::Array(out)
            }
        },
        Ty::Struct(fields) => {
            if nullable && r.i8().map_err(err)? < 0 {
                Value::Null
            } else {
                Value::Object(read_struct(r, fields, version, flexible, ctx)?)
            }
        }
    })
}

trait Remaining {
    fn kind_remaining(&self) -> u64;
}

impl Remaining for crate::format::error::DecodeError {
    fn kind_remaining(&self) -> u64 {
        match self.kind {
            ErrorKind::Truncated { available, .. } => available,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::Schemas;
    use super::*;

    fn schema() -> Message {
        let s = Schemas::parse(
            "record 0 T\nvalue 0-1 flex 1+\n  a int32\n  s string null\n  xs []int16\n  t int64 v1+ tag0\n  st { v1+ null tag1\n    u uuid\n",
        );
        s.get(0).unwrap().value.clone().unwrap()
    }

    #[test]
    fn non_flexible_version() {
        let m = schema();
        let bytes = [0, 0, 0, 7, 0xff, 0xff, 0, 0, 0, 2, 0, 1, 0xff, 0xfe];
        let mut ctx = Ctx::default();
        let v = read_message(&mut Reader::new(&bytes, 0), &m, 0, &mut ctx).unwrap();
        assert_eq!(Value::Object(v).to_string(), r#"{"a":7,"s":null,"xs":[1,-2]}"#);
    }

    #[test]
    fn flexible_version_with_known_and_unknown_tags() {
        let m = schema();
        let mut bytes = vec![0, 0, 0, 7, 3, b'h', b'i', 2, 0, 5];
        // three tags: 0 (int64 9), 5 (unknown, 2 bytes), 1 (struct present, uuid, no tags)
        bytes.extend([3, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9, 5, 2, 0xab, 0xcd, 1, 18, 1]);
        bytes.extend([0u8; 16]);
        bytes.push(0);
        let mut ctx = Ctx::default();
        let mut r = Reader::new(&bytes, 0);
        let v = read_message(&mut r, &m, 1, &mut ctx).unwrap();
        assert!(r.is_empty());
        assert_eq!(
            Value::Object(v).to_string(),
            r#"{"a":7,"s":"hi","xs":[5],"t":9,"st":{"u":"AAAAAAAAAAAAAAAAAAAAAA"},"_unknownTaggedFields":[{"tag":5,"hex":"abcd"}]}"#
        );
        assert_eq!(ctx.notes.len(), 1);
    }

    #[test]
    fn a_null_tagged_struct_is_a_uvarint_zero() {
        let m = schema();
        // a=7, s="", xs=[], then one tag: 1 (the nullable struct), size 1, 0 = null
        let bytes = [0, 0, 0, 7, 1, 1, 1, 1, 1, 0];
        let mut ctx = Ctx::default();
        let mut r = Reader::new(&bytes, 0);
        let v = read_message(&mut r, &m, 1, &mut ctx).unwrap();
        assert!(r.is_empty() && ctx.notes.is_empty(), "{:?}", ctx.notes);
        assert_eq!(Value::Object(v).to_string(), r#"{"a":7,"s":"","xs":[],"st":null}"#);
    }

    #[test]
    fn nulls_where_not_allowed_and_lying_lengths_are_errors() {
        let m = schema();
        let mut ctx = Ctx::default();
        let bytes = [0, 0, 0, 7, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let e = read_message(&mut Reader::new(&bytes, 0), &m, 0, &mut ctx).unwrap_err();
        assert_eq!(e, "non-nullable field xs was serialized as null");
        let bytes = [0, 0, 0, 7, 0x7f, 0xff];
        let e = read_message(&mut Reader::new(&bytes, 0), &m, 0, &mut ctx).unwrap_err();
        assert!(e.contains("32767"), "{e}");
    }
}
