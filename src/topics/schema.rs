//! Message schemas in kseg's own compact text form, parsed once at first use.
//!
//! Kafka describes every internal record in a JSON spec (fields, version
//! ranges, nullability, tags). kseg keeps the part a reader needs in a small
//! indented text per topic, which this module turns into [`Message`]s:
//!
//! ```text
//! # a comment
//! struct TopicPartitions          # a shared struct, usable as a type below
//!   topicId uuid
//!   partitions []int32
//!
//! record 1 OFFSET_COMMIT          # record type id and name
//! key                             # version 0, not flexible
//!   group string
//! value 0-4 flex 4+               # valid versions, first flexible version
//!   offset int64
//!   leaderEpoch int32 v3+         # field versions (default 0+)
//!   metadata string null          # nullable in every version it has
//!   topicId uuid v4+ tag0         # a tagged field (tag 0)
//!   members []{                   # an array of structs; fields indented below
//!     memberId string
//! ```
//!
//! Types: `bool int8 int16 uint16 int32 int64 float64 string bytes uuid`,
//! `[]T` for arrays, `{` / `[]{` for inline structs, or the name of a
//! `struct` block. Options: `vA+`, `vA`, `vA-B`; `null`, `nullA+`; `tagN`.
//! Field names are written as Kafka's JSON shows them (camelCase).

use std::collections::HashMap;

/// A version bound meaning "no upper limit" / "never".
pub const NEVER: i16 = i16::MAX;

#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Bool,
    Int8,
    Int16,
    Uint16,
    Int32,
    Int64,
    Float64,
    String,
    Bytes,
    Uuid,
    Array(Box<Ty>),
    Struct(Vec<Field>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub min: i16,
    pub max: i16,
    /// First version in which the field may be null ([`NEVER`] = never).
    pub null_from: i16,
    pub tag: Option<u32>,
}

impl Field {
    pub fn present(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }
    pub fn nullable(&self, version: i16) -> bool {
        version >= self.null_from
    }
}

/// One key or value schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub min: i16,
    pub max: i16,
    /// First flexible version ([`NEVER`] = none).
    pub flex: i16,
    pub fields: Vec<Field>,
}

/// A record type: its id, its name, and its key and value schemas.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordType {
    pub id: i32,
    pub name: String,
    pub key: Option<Message>,
    pub value: Option<Message>,
}

/// All record types of one topic, by id.
#[derive(Debug, Default)]
pub struct Schemas {
    pub types: Vec<RecordType>,
}

impl Schemas {
    pub fn get(&self, id: i32) -> Option<&RecordType> {
        self.types.iter().find(|t| t.id == id)
    }

    /// Parse a schema text. Panics with the line number on a mistake: the
    /// texts are compiled in, and a unit test parses every one of them.
    pub fn parse(text: &str) -> Schemas {
        match parse(text) {
            Ok(s) => s,
            Err((line, msg)) => panic!("schema text, line {line}: {msg}"),
        }
    }
}

struct Line<'a> {
    no: usize,
    indent: usize,
    words: Vec<&'a str>,
}

type PResult<T> = Result<T, (usize, String)>;

fn parse(text: &str) -> PResult<Schemas> {
    let lines: Vec<Line<'_>> = text
        .lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let content = raw.split('#').next().unwrap_or("");
            let words: Vec<&str> = content.split_whitespace().collect();
            if words.is_empty() {
                return None;
            }
            let indent = content.len() - content.trim_start().len();
            Some(Line { no: i + 1, indent, words })
        })
        .collect();
    let mut structs: HashMap<String, Vec<Field>> = HashMap::new();
    let mut out = Schemas::default();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.indent != 0 {
            return Err((l.no, "expected `struct` or `record` at column 0".into()));
        }
        match l.words[0] {
            "struct" => {
                let name = l.words.get(1).ok_or((l.no, "struct needs a name".to_string()))?.to_string();
                let (fields, next) = parse_fields(&lines, i + 1, 0, &structs)?;
                structs.insert(name, fields);
                i = next;
            }
            "record" => {
                let id: i32 = l
                    .words
                    .get(1)
                    .and_then(|w| w.parse().ok())
                    .ok_or((l.no, "record needs a numeric id".to_string()))?;
                let name = l.words.get(2).ok_or((l.no, "record needs a name".to_string()))?.to_string();
                if out.get(id).is_some() {
                    return Err((l.no, format!("record type {id} defined twice")));
                }
                let mut rt = RecordType { id, name, key: None, value: None };
                i += 1;
                while i < lines.len() && lines[i].indent == 0 && matches!(lines[i].words[0], "key" | "value") {
                    let h = &lines[i];
                    let (min, max) = match h.words.get(1) {
                        Some(w) if *w != "flex" => range(w).ok_or((h.no, format!("bad version range {w}")))?,
                        _ => (0, 0),
                    };
                    let flex = match h.words.iter().position(|w| *w == "flex") {
                        Some(p) => {
                            let w = h.words.get(p + 1).ok_or((h.no, "flex needs a version".to_string()))?;
                            range(w).ok_or((h.no, format!("bad flex version {w}")))?.0
                        }
                        None => NEVER,
                    };
                    let (fields, next) = parse_fields(&lines, i + 1, 0, &structs)?;
                    let m = Message { min, max, flex, fields };
                    if h.words[0] == "key" {
                        rt.key = Some(m);
                    } else {
                        rt.value = Some(m);
                    }
                    i = next;
                }
                out.types.push(rt);
            }
            w => return Err((l.no, format!("unknown block `{w}`"))),
        }
    }
    Ok(out)
}

/// `3+`, `3`, `0-2` → (min, max).
fn range(w: &str) -> Option<(i16, i16)> {
    if let Some(a) = w.strip_suffix('+') {
        return Some((a.parse().ok()?, NEVER));
    }
    if let Some((a, b)) = w.split_once('-') {
        return Some((a.parse().ok()?, b.parse().ok()?));
    }
    let v = w.parse().ok()?;
    Some((v, v))
}

/// The fields indented deeper than `parent_indent`, starting at line `i`.
fn parse_fields(
    lines: &[Line<'_>],
    mut i: usize,
    parent_indent: usize,
    structs: &HashMap<String, Vec<Field>>,
) -> PResult<(Vec<Field>, usize)> {
    let mut fields = Vec::new();
    let Some(first) = lines.get(i) else { return Ok((fields, i)) };
    let indent = first.indent;
    if indent <= parent_indent {
        return Ok((fields, i));
    }
    while i < lines.len() && lines[i].indent > parent_indent {
        let l = &lines[i];
        if l.indent != indent {
            return Err((l.no, "inconsistent indentation".into()));
        }
        let name = l.words[0].to_string();
        let ty_word = *l.words.get(1).ok_or((l.no, format!("field {name} needs a type")))?;
        let (mut min, mut max, mut null_from, mut tag) = (0, NEVER, NEVER, None);
        let mut nullable_all = false;
        for opt in &l.words[2..] {
            if let Some(v) = opt.strip_prefix('v') {
                (min, max) = range(v).ok_or((l.no, format!("bad versions {opt}")))?;
            } else if *opt == "null" {
                nullable_all = true;
            } else if let Some(v) = opt.strip_prefix("null") {
                null_from = range(v).ok_or((l.no, format!("bad nullable versions {opt}")))?.0;
            } else if let Some(t) = opt.strip_prefix("tag") {
                tag = Some(t.parse().map_err(|_| (l.no, format!("bad tag {opt}")))?);
            } else {
                return Err((l.no, format!("unknown option {opt}")));
            }
        }
        if nullable_all {
            null_from = min;
        }
        i += 1;
        let ty = if ty_word == "{" || ty_word == "[]{" {
            let (sub, next) = parse_fields(lines, i, indent, structs)?;
            if sub.is_empty() {
                return Err((l.no, format!("struct field {name} has no fields")));
            }
            i = next;
            if ty_word == "{" { Ty::Struct(sub) } else { Ty::Array(Box::new(Ty::Struct(sub))) }
        } else {
            parse_type(ty_word, structs).ok_or((l.no, format!("unknown type {ty_word}")))?
        };
        fields.push(Field { name, ty, min, max, null_from, tag });
    }
    Ok((fields, i))
}

fn parse_type(w: &str, structs: &HashMap<String, Vec<Field>>) -> Option<Ty> {
    if let Some(inner) = w.strip_prefix("[]") {
        return Some(Ty::Array(Box::new(parse_type(inner, structs)?)));
    }
    Some(match w {
        "bool" => Ty::Bool,
        "int8" => Ty::Int8,
        "int16" => Ty::Int16,
        "uint16" => Ty::Uint16,
        "int32" => Ty::Int32,
        "int64" => Ty::Int64,
        "float64" => Ty::Float64,
        "string" => Ty::String,
        "bytes" => Ty::Bytes,
        "uuid" => Ty::Uuid,
        name => Ty::Struct(structs.get(name)?.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_structs_options_and_shared_structs() {
        let s = Schemas::parse(
            "struct TP\n  topicId uuid\n  partitions []int32\n\nrecord 7 X\nkey\n  g string\nvalue 0-3 flex 2+\n  a int64\n  b string v1+ null\n  c []{ v2+ tag4\n    d int8\n    e {\n      f uuid\n  g []TP null2+\n",
        );
        let rt = s.get(7).unwrap();
        assert_eq!(rt.name, "X");
        let key = rt.key.as_ref().unwrap();
        assert_eq!((key.min, key.max, key.flex), (0, 0, NEVER));
        let v = rt.value.as_ref().unwrap();
        assert_eq!((v.min, v.max, v.flex), (0, 3, 2));
        assert_eq!(v.fields.len(), 4);
        assert_eq!((v.fields[1].min, v.fields[1].null_from), (1, 1));
        assert_eq!(v.fields[2].tag, Some(4));
        let Ty::Array(inner) = &v.fields[2].ty else { panic!() };
        let Ty::Struct(sub) = inner.as_ref() else { panic!() };
        assert_eq!(sub.len(), 2);
        assert!(matches!(&sub[1].ty, Ty::Struct(f) if f.len() == 1));
        assert_eq!(v.fields[3].null_from, 2);
        assert!(matches!(&v.fields[3].ty, Ty::Array(t) if matches!(t.as_ref(), Ty::Struct(f) if f.len() == 2)));
    }

    #[test]
    fn mistakes_name_their_line() {
        assert_eq!(parse("record 1 A\nvalue 0\n  x strng\n").unwrap_err().0, 3);
        assert_eq!(parse("record x A\n").unwrap_err().0, 1);
    }
}
