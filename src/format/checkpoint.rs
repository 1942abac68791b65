//! The small text files of a log directory and its partitions, read as
//! Kafka reads them, with every problem at its line.
//!
//! * `leader-epoch-checkpoint`: `0`, a count, then `<epoch> <startOffset>` lines.
//! * `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`,
//!   `replication-offset-checkpoint`, `cleaner-offset-checkpoint`: `0`, a
//!   count, then `<topic> <partition> <offset>` lines.
//!
//!   Kafka's `CheckpointFile`: an empty file (or one without a count line) has
//!   no entries; fields are split on runs of whitespace; "Unrecognised
//!   version", "Malformed line" and "Expected [n] entries … but found only
//!   [m]" are its errors.
//! * `partition.metadata`: `version: 0` and `topic_id: <Kafka Uuid>` lines
//!   (fields split on `:` and whitespace); a zero topic id is invalid.
//! * `meta.properties`: Java properties (ISO-8859-1, `#`/`!` comments,
//!   `=`/`:`/space separators, `\` escapes and continuations); version 0 or
//!   1, and version 1 needs `node.id` and `cluster.id`.
//! * `quorum-state`: a JSON object with `data_version` 0 or 1.
//! * `.kafka_cleanshutdown`: empty (older brokers) or a JSON object with
//!   `version` 0 and `brokerEpoch`.

use crate::format::problem::{KEPT_PER_KIND, ProblemKind};
use base64::Engine;
use serde::Serialize;

use crate::format::issue::Issue;

/// The version and count lines of a versioned checkpoint; `None` when the
/// line is missing or not a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Header {
    pub version: Option<i32>,
    pub count: Option<i32>,
}

/// One entry of a text file. Line numbers are 1-based.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Entry {
    /// `leader-epoch-checkpoint`.
    Epoch { line: u64, epoch: i32, start_offset: i64 },
    /// The four offset checkpoints of a log directory.
    Offset { line: u64, topic: String, partition: i32, offset: i64 },
    /// `partition.metadata` and `meta.properties`: a key and its text.
    Property { line: u64, key: String, value: String },
    /// `quorum-state` and `.kafka_cleanshutdown`: a top-level field.
    Field { key: String, value: serde_json::Value },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    /// For the versioned checkpoints (leader epochs and offsets) with at
    /// least a version line.
    pub header: Option<Header>,
    pub entries: Vec<Entry>,
    /// Problems, in file order.
    pub issues: Vec<Issue>,
    /// Problems counted past [`KEPT_PER_KIND`] of a kind, in the order
    /// their kinds first went past it.
    pub not_kept: Vec<NotKept>,
}

/// The text formats of a log directory's small files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// `leader-epoch-checkpoint`.
    LeaderEpochs,
    /// `recovery-point-`, `log-start-`, `replication-` and `cleaner-offset-checkpoint`.
    OffsetCheckpoint,
    /// `partition.metadata`.
    PartitionMetadata,
    /// `meta.properties`.
    MetaProperties,
    /// `quorum-state`.
    QuorumState,
    /// `.kafka_cleanshutdown`.
    CleanShutdown,
}

/// Problems of one kind on lines of their own, past [`KEPT_PER_KIND`] in
/// one file: counted, not kept (Kafka stops reading at the first, so more
/// say nothing new, and a file of millions of bad lines must not cost
/// millions of messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotKept {
    pub kind: ProblemKind,
    pub count: u64,
    /// Where the first of them is: byte position and 1-based line.
    pub position: u64,
    pub line: u64,
}

impl NotKept {
    /// The one problem that stands for them where problems are listed
    /// one by one (`dump`).
    pub fn summary(&self) -> Issue {
        let message = format!(
            "{} more `{}` problems from here on, not shown (Kafka stops at the first)",
            self.count,
            self.kind.name()
        );
        Issue::on_line(self.kind, self.position, self.line, message)
    }
}

impl TextFormat {
    /// The most bytes of a file in this format kseg reads. A versioned
    /// checkpoint is streamed and a broker of very many partitions writes
    /// large ones; the others hold a few lines (or one JSON object) and are
    /// parsed whole, so a larger one is no broker's file.
    pub fn max_bytes(self) -> u64 {
        match self {
            TextFormat::LeaderEpochs | TextFormat::OffsetCheckpoint => 64 << 20,
            TextFormat::PartitionMetadata
            | TextFormat::MetaProperties
            | TextFormat::QuorumState
            | TextFormat::CleanShutdown => 1 << 20,
        }
    }
}

/// What [`visit`] hands over, in file order.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A versioned checkpoint's version and count lines, before its entries.
    Header(Header),
    Entry(Entry),
}

/// Read a text file in `format`, its entries collected.
pub fn parse(format: TextFormat, data: &[u8]) -> Parsed {
    let mut entries = Vec::new();
    let mut p = visit(format, data, &mut |item| {
        if let Item::Entry(e) = item {
            entries.push(e);
        }
    });
    p.entries = entries;
    p
}

/// Read a text file in `format`, handing over its header (when it has
/// one) and then each entry, so that a checkpoint of any size is read in
/// bounded memory; the returned `Parsed` holds the header and the
/// problems, and no entries.
pub fn visit(format: TextFormat, data: &[u8], on_item: &mut dyn FnMut(Item)) -> Parsed {
    let mut p = match format {
        TextFormat::LeaderEpochs => versioned(data, 0, epoch_entry, on_item),
        TextFormat::OffsetCheckpoint => versioned(data, 0, offset_entry, on_item),
        TextFormat::PartitionMetadata => partition_metadata(data),
        TextFormat::MetaProperties => meta_properties(data),
        TextFormat::QuorumState => json(data, false, quorum_state),
        TextFormat::CleanShutdown => json(data, true, clean_shutdown),
    };
    for e in std::mem::take(&mut p.entries) {
        on_item(Item::Entry(e));
    }
    p.issues.sort_by_key(|i| i.position);
    p
}

/// A line of a file: 1-based number, byte position, and its text (read
/// lossily when it is not UTF-8: then `not_utf8_at` says where).
struct Line<'a> {
    number: u64,
    position: u64,
    text: std::borrow::Cow<'a, str>,
    not_utf8_at: Option<u64>,
}

impl<'a> Line<'a> {
    fn decode(raw: RawLine<'a>) -> Self {
        let (text, not_utf8_at) = match std::str::from_utf8(raw.bytes) {
            Ok(t) => (std::borrow::Cow::Borrowed(t), None),
            Err(e) => (String::from_utf8_lossy(raw.bytes), Some(raw.position + e.valid_up_to() as u64)),
        };
        Line { number: raw.number, position: raw.position, text, not_utf8_at }
    }
}

/// A line's bytes, without its terminator, with its number and position.
struct RawLine<'a> {
    number: u64,
    position: u64,
    bytes: &'a [u8],
}

impl Line<'_> {
    fn not_utf8(&self) -> Option<Issue> {
        let at = self.not_utf8_at?;
        Some(Issue::on_line(ProblemKind::NotUtf8, at, self.number, "bytes that are not UTF-8 (shown as U+FFFD)"))
    }
}

/// Lines as Java's `BufferedReader.readLine` splits them (`\n`, `\r\n` or
/// `\r`; a final terminator makes no empty line), one at a time, as bytes
/// ([`raw_lines`]: `meta.properties` reads them as ISO-8859-1) or decoded
/// as UTF-8 ([`lines`]).
struct RawLines<'a> {
    data: &'a [u8],
    at: usize,
    number: u64,
}

fn raw_lines(data: &[u8]) -> RawLines<'_> {
    RawLines { data, at: 0, number: 0 }
}

fn lines(data: &[u8]) -> impl Iterator<Item = Line<'_>> {
    raw_lines(data).map(Line::decode)
}

impl<'a> Iterator for RawLines<'a> {
    type Item = RawLine<'a>;

    fn next(&mut self) -> Option<RawLine<'a>> {
        let data = self.data;
        let start = self.at;
        if start >= data.len() {
            return None;
        }
        let rest = &data[start..];
        let (end, next) = match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') => (start + i, start + i + 2),
            Some(i) => (start + i, start + i + 1),
            None => (data.len(), data.len()),
        };
        self.at = next;
        self.number += 1;
        Some(RawLine { number: self.number, position: start as u64, bytes: &data[start..end] })
    }
}

/// The problems of one file: those on lines of their own up to
/// [`KEPT_PER_KIND`] of a kind, then only counted.
#[derive(Default)]
struct LineIssues {
    kept: Vec<Issue>,
    kept_per_kind: Vec<(ProblemKind, usize)>,
    not_kept: Vec<NotKept>,
}

impl LineIssues {
    fn push(&mut self, issue: Issue) {
        self.push_with(issue.kind, issue.position, issue.line.unwrap_or(0), || issue);
    }

    fn extend(&mut self, issues: impl IntoIterator<Item = Issue>) {
        for i in issues {
            self.push(i);
        }
    }

    /// The same for an issue of `kind` at `position` of `line`, made only
    /// when kept.
    fn push_with(&mut self, kind: ProblemKind, position: u64, line: u64, issue: impl FnOnce() -> Issue) {
        let at = match self.kept_per_kind.iter().position(|(k, _)| *k == kind) {
            Some(at) => at,
            None => {
                self.kept_per_kind.push((kind, 0));
                self.kept_per_kind.len() - 1
            }
        };
        if self.kept_per_kind[at].1 < KEPT_PER_KIND {
            self.kept_per_kind[at].1 += 1;
            self.kept.push(issue());
        } else {
            match self.not_kept.iter_mut().find(|n| n.kind == kind) {
                Some(n) => n.count += 1,
                None => self.not_kept.push(NotKept { kind, count: 1, position, line }),
            }
        }
    }

    /// Into `out`: the kept problems, and the counts of the rest.
    fn finish(self, out: &mut Parsed) {
        out.issues.extend(self.kept);
        out.not_kept.extend(self.not_kept);
    }
}

/// Java's `Pattern.compile("\\s+").split(line)`: a leading run of
/// whitespace gives a leading empty field, trailing empty fields are dropped.
fn java_split_ws(line: &str) -> Vec<&str> {
    let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r');
    let mut out: Vec<&str> = line.split(ws).collect();
    // Runs of whitespace split into empty pieces: keep only a leading one.
    let leading = line.starts_with(ws);
    out.retain(|s| !s.is_empty());
    if leading {
        out.insert(0, "");
    }
    out
}

fn malformed(line: &Line<'_>) -> Issue {
    Issue::on_line(ProblemKind::MalformedLine, line.position, line.number, format!("malformed line: {:?}", line.text))
}

fn epoch_entry(line: &Line<'_>) -> Option<Entry> {
    match java_split_ws(&line.text)[..] {
        [epoch, offset] => {
            Some(Entry::Epoch { line: line.number, epoch: epoch.parse().ok()?, start_offset: offset.parse().ok()? })
        }
        _ => None,
    }
}

fn offset_entry(line: &Line<'_>) -> Option<Entry> {
    match java_split_ws(&line.text)[..] {
        [topic, partition, offset] => Some(Entry::Offset {
            line: line.number,
            topic: topic.to_string(),
            partition: partition.parse().ok()?,
            offset: offset.parse().ok()?,
        }),
        _ => None,
    }
}

/// Kafka's `CheckpointFile` format: version line, count line, entries.
fn versioned(
    data: &[u8],
    expected_version: i32,
    entry: fn(&Line<'_>) -> Option<Entry>,
    on_item: &mut dyn FnMut(Item),
) -> Parsed {
    let mut out = Parsed::default();
    let mut issues = LineIssues::default();
    let mut it = lines(data);
    let Some(first) = it.next() else { return out };
    issues.extend(first.not_utf8());
    let version = first.text.parse::<i32>().ok();
    match version {
        None => issues.push(malformed(&first)),
        Some(v) if v != expected_version => issues.push(Issue::on_line(
            ProblemKind::UnknownVersion,
            first.position,
            first.number,
            format!("unrecognised version {v}, expected version {expected_version}"),
        )),
        Some(_) => {}
    }
    let count_line = it.next();
    let count = count_line.as_ref().and_then(|l| l.text.parse::<i32>().ok());
    let header = Header { version, count };
    on_item(Item::Header(header));
    out.header = Some(header);
    let Some(count_line) = count_line else {
        issues.finish(&mut out);
        return out;
    };
    issues.extend(count_line.not_utf8());
    if count.is_none() {
        issues.push(malformed(&count_line));
    }
    let mut entries: u64 = 0;
    for line in it {
        if let Some(i) = line.not_utf8() {
            issues.push(i);
        }
        match entry(&line) {
            Some(e) => {
                entries += 1;
                on_item(Item::Entry(e));
            }
            None => issues.push_with(ProblemKind::MalformedLine, line.position, line.number, || malformed(&line)),
        }
    }
    if let Some(n) = count
        && n as i64 != entries as i64
    {
        issues.push(Issue::on_line(
            ProblemKind::CountMismatch,
            count_line.position,
            count_line.number,
            format!("the count line says {n} entries but the file holds {entries}"),
        ));
    }
    issues.finish(&mut out);
    out
}

/// Kafka's `Uuid.fromString`: URL-safe base64 of 16 bytes. Returns the
/// problem, if any.
pub fn check_uuid(s: &str) -> Option<String> {
    if s.len() > 24 {
        return Some(format!("{s:?} is too long to be a base64 UUID"));
    }
    let trimmed = s.trim_end_matches('=');
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed) {
        Ok(b) if b.len() == 16 => None,
        Ok(b) => Some(format!("{s:?} decodes to {} bytes, not the 16 of a UUID", b.len())),
        Err(e) => Some(format!("{s:?} is not URL-safe base64: {e}")),
    }
}

/// Split `key: value` as Kafka does: Java's `line.split(":\\s+")` must
/// give exactly two parts.
fn colon_pair(text: &str) -> Option<(&str, &str)> {
    let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r');
    let mut parts = Vec::new();
    let mut piece_start = 0;
    let mut i = 0;
    while let Some(rel) = text[i..].find(':') {
        let colon = i + rel;
        let after = &text[colon + 1..];
        let run = after.len() - after.trim_start_matches(ws).len();
        if run > 0 {
            parts.push(&text[piece_start..colon]);
            piece_start = colon + 1 + run;
            i = piece_start;
        } else {
            i = colon + 1;
        }
    }
    parts.push(&text[piece_start..]);
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    match parts[..] {
        [key, value] => Some((key, value)),
        _ => None,
    }
}

fn partition_metadata(data: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let mut it = lines(data);
    let Some(first) = it.next() else {
        out.issues.push(Issue::at(ProblemKind::MalformedLine, 0, "the file is empty: no version line"));
        return out;
    };
    out.issues.extend(first.not_utf8());
    match colon_pair(&first.text) {
        Some((key, value)) => {
            if value.parse::<i32>().map_or(true, |v| v < 0) {
                out.issues.push(Issue::on_line(
                    ProblemKind::BadValue,
                    first.position,
                    first.number,
                    format!("version {value:?} is not a number >= 0"),
                ));
            }
            out.entries.push(Entry::Property { line: first.number, key: key.into(), value: value.into() });
        }
        None => out.issues.push(malformed(&first)),
    }
    let Some(second) = it.next() else {
        let at = data.len() as u64;
        out.issues.push(Issue::on_line(ProblemKind::MalformedLine, at, first.number + 1, "no topic_id line"));
        return out;
    };
    out.issues.extend(second.not_utf8());
    match colon_pair(&second.text) {
        Some((key, value)) => {
            let problem = check_uuid(value).or_else(|| {
                (base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()
                    == Some(vec![0; 16]))
                .then(|| "the topic id is the zero UUID".to_string())
            });
            if let Some(p) = problem {
                out.issues.push(Issue::on_line(ProblemKind::BadValue, second.position, second.number, p));
            }
            out.entries.push(Entry::Property { line: second.number, key: key.into(), value: value.into() });
        }
        None => out.issues.push(malformed(&second)),
    }
    // Kafka reads two lines and no more; the rest is not looked at either,
    // but bytes that are not text there are still worth a word.
    let mut later = LineIssues::default();
    for line in it {
        if let Some(i) = line.not_utf8() {
            later.push(i);
        }
    }
    later.finish(&mut out);
    out
}

/// Java `Properties.load` over ISO-8859-1 bytes: (line number, byte
/// position, key, value) of each property.
fn java_properties(data: &[u8], parsed: &mut Parsed) -> Vec<(u64, u64, String, String)> {
    // Natural lines, split as readLine does, one at a time; ISO-8859-1
    // maps each byte to the char of the same number.
    let latin1 = |b: &[u8]| b.iter().map(|&c| c as char).collect::<String>();
    let mut lines = raw_lines(data).map(|l| (l.number, l.position, latin1(l.bytes)));
    let blank = [' ', '\t', '\u{c}'];
    let mut out = Vec::new();
    let mut bad = LineIssues::default();
    while let Some((number, position, raw)) = lines.next() {
        let line = raw.trim_start_matches(blank);
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let mut logical = String::from(line);
        // An odd number of trailing backslashes on a natural line continues
        // it. Only that line's own run is counted (as Java's LineReader
        // does): the run left before it after the pop is even, and counting
        // the whole logical line each time costs quadratic time on a file
        // of backslash lines.
        let trailing = |s: &str| s.bytes().rev().take_while(|&c| c == b'\\').count();
        let mut run = trailing(line);
        while run % 2 == 1 {
            logical.pop();
            match lines.next() {
                Some((_, _, next)) => {
                    let next = next.trim_start_matches(blank);
                    run = trailing(next);
                    logical.push_str(next);
                }
                None => break,
            }
        }
        let (key, value) = split_property(&logical);
        match (unescape(key), unescape(value)) {
            (Ok(k), Ok(v)) => out.push((number, position, k, v)),
            (Err(e), _) | (_, Err(e)) => bad.push(Issue::on_line(ProblemKind::MalformedLine, position, number, e)),
        }
    }
    bad.finish(parsed);
    out
}

/// The key ends at the first unescaped `=`, `:` or whitespace; then
/// whitespace, at most one `=` or `:`, whitespace, and the value.
fn split_property(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' | ' ' | '\t' | '\u{c}' => {
                key_end = i;
                break;
            }
            _ => {}
        }
    }
    let key = &line[..key_end];
    let mut rest = line[key_end..].trim_start_matches([' ', '\t', '\u{c}']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\u{c}']);
    }
    (key, rest)
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4).then(|| u32::from_str_radix(&hex, 16).ok()).flatten();
                match code.and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => return Err(format!("malformed \\uxxxx encoding: \\u{hex}")),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

fn meta_properties(data: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let props = java_properties(data, &mut out);
    let find = |k: &str| props.iter().rev().find(|p| p.2 == k);
    let version_line = find("version");
    let version = match version_line {
        None => Some(0),
        Some((n, pos, _, v)) => match v.as_str() {
            "0" => Some(0),
            "1" => Some(1),
            _ => {
                out.issues.push(Issue::on_line(
                    ProblemKind::BadValue,
                    *pos,
                    *n,
                    format!("unknown meta.properties version {v:?}"),
                ));
                None
            }
        },
    };
    let (anchor_pos, anchor_line) = version_line.map_or((0, None), |(n, pos, _, _)| (*pos, Some(*n)));
    let missing = |key: &str, out: &mut Parsed| {
        let message = format!("no {key} property (required in version 1)");
        out.issues.push(Issue { kind: ProblemKind::MissingProperty, position: anchor_pos, line: anchor_line, message });
    };
    for key in ["node.id", "broker.id"] {
        if let Some((n, pos, _, v)) = find(key)
            && v.parse::<i32>().is_err()
        {
            out.issues.push(Issue::on_line(ProblemKind::BadValue, *pos, *n, format!("{key} {v:?} is not an integer")));
        }
    }
    if let Some((n, pos, _, v)) = find("directory.id")
        && let Some(p) = check_uuid(v)
    {
        out.issues.push(Issue::on_line(ProblemKind::BadValue, *pos, *n, format!("directory.id {p}")));
    }
    if version == Some(1) {
        if find("node.id").is_none() {
            missing("node.id", &mut out);
        }
        if find("cluster.id").is_none() {
            missing("cluster.id", &mut out);
        }
    }
    out.entries = props.into_iter().map(|(line, _, key, value)| Entry::Property { line, key, value }).collect();
    out
}

/// A JSON object file; each top-level field is an entry (in key order).
fn json(
    data: &[u8],
    empty_ok: bool,
    check: fn(&serde_json::Map<String, serde_json::Value>, &mut Vec<Issue>),
) -> Parsed {
    let mut out = Parsed::default();
    if data.iter().all(u8::is_ascii_whitespace) {
        if !empty_ok {
            out.issues.push(Issue::on_line(ProblemKind::BadJson, 0, 1, "the file is empty"));
        }
        return out;
    }
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(serde_json::Value::Object(map)) => {
            check(&map, &mut out.issues);
            // Key order whatever order serde_json keeps maps in.
            let mut fields: Vec<_> = map.into_iter().collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            out.entries = fields.into_iter().map(|(key, value)| Entry::Field { key, value }).collect();
        }
        Ok(other) => out.issues.push(Issue::on_line(
            ProblemKind::BadJson,
            0,
            1,
            format!("not a JSON object but {}", json_type(&other)),
        )),
        Err(e) => {
            // serde_json counts lines from 1 and columns from 1 (0 at a line's end).
            let line = e.line().max(1);
            let line_start: usize = data.split(|&b| b == b'\n').take(line - 1).map(|l| l.len() + 1).sum();
            let at = (line_start + e.column().saturating_sub(1)).min(data.len());
            out.issues.push(Issue::on_line(
                ProblemKind::BadJson,
                at as u64,
                line as u64,
                format!("not valid JSON: {e}"),
            ));
        }
    }
    out
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn quorum_state(map: &serde_json::Map<String, serde_json::Value>, issues: &mut Vec<Issue>) {
    match map.get("data_version").and_then(serde_json::Value::as_i64) {
        Some(0 | 1) => {}
        Some(v) => issues.push(Issue::on_line(ProblemKind::BadValue, 0, 1, format!("unsupported data_version {v}"))),
        None => issues.push(Issue::on_line(ProblemKind::MissingProperty, 0, 1, "no integer data_version field")),
    }
}

fn clean_shutdown(map: &serde_json::Map<String, serde_json::Value>, issues: &mut Vec<Issue>) {
    match map.get("version").and_then(serde_json::Value::as_i64) {
        Some(0) => {}
        Some(v) => issues.push(Issue::on_line(ProblemKind::BadValue, 0, 1, format!("unsupported version {v}"))),
        None => issues.push(Issue::on_line(ProblemKind::MissingProperty, 0, 1, "no integer version field")),
    }
    if !map.get("brokerEpoch").is_some_and(serde_json::Value::is_i64) {
        issues.push(Issue::on_line(ProblemKind::MissingProperty, 0, 1, "no integer brokerEpoch field"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(p: &Parsed) -> Vec<(&'static str, u64, Option<u64>)> {
        p.issues.iter().map(|i| (i.kind.name(), i.position, i.line)).collect()
    }

    #[test]
    fn leader_epochs() {
        let p = parse(TextFormat::LeaderEpochs, b"0\n2\n1 0\n2 298\n");
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(p.header, Some(Header { version: Some(0), count: Some(2) }));
        assert_eq!(
            p.entries,
            [
                Entry::Epoch { line: 3, epoch: 1, start_offset: 0 },
                Entry::Epoch { line: 4, epoch: 2, start_offset: 298 }
            ]
        );
        // Kafka: an empty file, or one with only a version, has no entries and no error.
        for data in [&b""[..], b"0\n", b"0"] {
            assert!(parse(TextFormat::LeaderEpochs, data).issues.is_empty());
        }
        // \r\n and trailing spaces are fine; a leading space is not (Java's split).
        let p = parse(TextFormat::LeaderEpochs, b"0\r\n2\r\n1 0  \r\n 2 5\r\n");
        assert_eq!(kinds(&p), [("count_mismatch", 3, Some(2)), ("malformed_line", 13, Some(4))]);
    }

    #[test]
    fn checkpoint_errors_name_their_lines() {
        let p = parse(TextFormat::LeaderEpochs, b"1\n1\n0 0\n");
        assert_eq!(kinds(&p), [("unknown_version", 0, Some(1))]);
        let p = parse(TextFormat::LeaderEpochs, b"0\n3\n0 0\nx 5\n");
        assert_eq!(kinds(&p), [("count_mismatch", 2, Some(2)), ("malformed_line", 8, Some(4))]);
        let p = parse(TextFormat::OffsetCheckpoint, b"0\ntwo\nt 0 5\n");
        assert_eq!(kinds(&p), [("malformed_line", 2, Some(2))]);
        let p = parse(TextFormat::OffsetCheckpoint, b"0\n1\nt\xff 0 5\n");
        assert_eq!(kinds(&p), [("not_utf8", 5, Some(3))]);
        assert_eq!(p.entries.len(), 1);
    }

    #[test]
    fn a_file_of_bad_lines_keeps_the_first_problems_of_each_kind_and_counts_the_rest() {
        // Kafka stops at line 3; kseg names the first 1,000 problems of a kind and counts the rest.
        let mut data = b"0\n5\n".to_vec();
        data.extend(std::iter::repeat_n(&b"x\n"[..], 1500).flatten());
        let p = parse(TextFormat::OffsetCheckpoint, &data);
        assert_eq!(p.issues.len(), 1001, "1,000 bad lines kept, and the count mismatch");
        assert_eq!(kinds(&p)[..2], [("count_mismatch", 2, Some(2)), ("malformed_line", 4, Some(3))]);
        // The 1,001st bad line is line 1,003, at byte 4 + 2 × 1,000.
        let rest = NotKept { kind: ProblemKind::MalformedLine, count: 500, position: 2004, line: 1003 };
        assert_eq!(p.not_kept, [rest]);
        // Lines that are two problems each (bytes that are not UTF-8, and no
        // entry) are counted per kind.
        let mut data = b"0\n5\n".to_vec();
        data.extend(std::iter::repeat_n(&b"\xff\n"[..], 1200).flatten());
        let p = parse(TextFormat::OffsetCheckpoint, &data);
        assert_eq!(p.issues.len(), 2000 + 1, "1,000 of each kind, and the count mismatch");
        let counted: Vec<_> = p.not_kept.iter().map(|n| (n.kind.name(), n.count, n.line)).collect();
        assert_eq!(counted, [("not_utf8", 200, 1003), ("malformed_line", 200, 1003)]);
    }

    #[test]
    fn visit_hands_over_the_header_then_each_entry_in_file_order() {
        let mut items = Vec::new();
        let p = visit(TextFormat::OffsetCheckpoint, b"0\n2\na 0 5\nb 1 7\n", &mut |i| items.push(i));
        assert!(p.entries.is_empty() && p.issues.is_empty());
        assert_eq!(
            items,
            [
                Item::Header(Header { version: Some(0), count: Some(2) }),
                Item::Entry(Entry::Offset { line: 3, topic: "a".into(), partition: 0, offset: 5 }),
                Item::Entry(Entry::Offset { line: 4, topic: "b".into(), partition: 1, offset: 7 }),
            ]
        );
    }

    #[test]
    fn offset_checkpoints() {
        let p = parse(TextFormat::OffsetCheckpoint, b"0\n2\n__consumer_offsets 22 0\nt 1 17\n");
        assert!(p.issues.is_empty());
        assert_eq!(p.entries[1], Entry::Offset { line: 4, topic: "t".into(), partition: 1, offset: 17 });
        let p = parse(TextFormat::OffsetCheckpoint, b"0\n1\nt 1\n");
        assert_eq!(kinds(&p), [("count_mismatch", 2, Some(2)), ("malformed_line", 4, Some(3))]);
    }

    #[test]
    fn partition_metadata_files() {
        let p = parse(TextFormat::PartitionMetadata, b"version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ");
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(
            p.entries[1],
            Entry::Property { line: 2, key: "topic_id".into(), value: "AAAAAAAAAAAAAAAAAAAAAQ".into() }
        );
        let p = parse(TextFormat::PartitionMetadata, b"version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(kinds(&p), [("bad_value", 11, Some(2))]);
        let p = parse(TextFormat::PartitionMetadata, b"version:0\ntopic_id: abc");
        assert_eq!(kinds(&p), [("malformed_line", 0, Some(1)), ("bad_value", 10, Some(2))]);
        assert_eq!(kinds(&parse(TextFormat::PartitionMetadata, b"")), [("malformed_line", 0, None)]);
    }

    #[test]
    fn continuation_is_decided_by_each_natural_lines_own_backslashes() {
        let props = |text: &str| -> Vec<(String, String)> {
            parse(TextFormat::MetaProperties, text.as_bytes())
                .entries
                .into_iter()
                .map(|e| match e {
                    Entry::Property { key, value, .. } => (key, value),
                    _ => unreachable!(),
                })
                .collect()
        };
        // "a=\\\" (3): continues, one popped; "\\" (2) on the next line ends it.
        assert_eq!(props("a=\\\\\\\n\\\\\nb=1\n"), [("a".into(), "\\\\".into()), ("b".into(), "1".into())]);
        // A line of one backslash continues into the next.
        assert_eq!(props("a=x\\\n\\\n  y\n"), [("a".into(), "xy".into())]);
        // 80,000 lines of three backslashes: one logical line, read in linear time.
        let many = "\\\\\\\n".repeat(80_000);
        let p = props(&many);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0.len(), 80_000);
    }

    #[test]
    fn meta_properties_files() {
        let text = b"#\n#Fri Jan 30 16:43:51 UTC 2026\nnode.id=1\ndirectory.id=XHhkr4tkSsD900pOQ8pPfg\nversion=1\ncluster.id=q1w2e3r4t5y6u7i8o9p0\n";
        let p = parse(TextFormat::MetaProperties, text);
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(p.entries.len(), 4);
        assert_eq!(p.entries[0], Entry::Property { line: 3, key: "node.id".into(), value: "1".into() });
        // Java syntax: separators, escapes, continuations.
        let p = parse(TextFormat::MetaProperties, b"  a : b\\\n    c\nk\\=x = v\\u0041\nbare\n! note\n");
        let e: Vec<(String, String)> = p
            .entries
            .iter()
            .map(|e| match e {
                Entry::Property { key, value, .. } => (key.clone(), value.clone()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(e, [("a".into(), "bc".into()), ("k=x".into(), "vA".into()), ("bare".into(), String::new())]);
        // Version 1 without node.id or cluster.id.
        let p = parse(TextFormat::MetaProperties, b"version=1\n");
        assert_eq!(kinds(&p), [("missing_property", 0, Some(1)), ("missing_property", 0, Some(1))]);
        let p = parse(TextFormat::MetaProperties, b"version=0\nbroker.id=x\n");
        assert_eq!(kinds(&p), [("bad_value", 10, Some(2))]);
        let p = parse(TextFormat::MetaProperties, b"version=7\nbad=\\u00zz\n");
        assert_eq!(kinds(&p), [("bad_value", 0, Some(1)), ("malformed_line", 10, Some(2))]);
    }

    proptest::proptest! {
        /// Any bytes, as any text kind, a snapshot or a transaction index: no panic, and every
        /// problem inside the file.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                                       text in "[0-9a-z_.:= #!\\\\\n\r\t{}\"-]{0,200}") {
            for bytes in [&data[..], text.as_bytes()] {
                let len = bytes.len() as u64;
                for kind in [
                    TextFormat::MetaProperties,
                    TextFormat::CleanShutdown,
                    TextFormat::OffsetCheckpoint,
                    TextFormat::PartitionMetadata,
                    TextFormat::LeaderEpochs,
                    TextFormat::QuorumState,
                ] {
                    let p = parse(kind, bytes);
                    proptest::prop_assert!(p.issues.iter().all(|i| i.position <= len), "{:?}", p.issues);
                }
                let s = crate::format::snapshot::parse(bytes);
                proptest::prop_assert!(s.entries().all(|e| e.position + 46 <= len));
                proptest::prop_assert!(s.issues.iter().all(|i| i.position <= len));
                let t = crate::format::txnindex::TxnIndex::new(bytes);
                proptest::prop_assert_eq!(t.entries().count(), bytes.len() / 34);
            }
        }
    }

    #[test]
    fn json_files() {
        let p = parse(TextFormat::QuorumState, br#"{"clusterId":"","leaderId":1,"data_version":0}"#);
        assert!(p.issues.is_empty());
        assert_eq!(p.entries[0], Entry::Field { key: "clusterId".into(), value: json!("") });
        let p = parse(TextFormat::QuorumState, b"{\"leaderId\":1,\n\"data_version\":}");
        assert_eq!(kinds(&p), [("bad_json", 30, Some(2))]);
        assert_eq!(kinds(&parse(TextFormat::QuorumState, b"")), [("bad_json", 0, Some(1))]);
        assert_eq!(kinds(&parse(TextFormat::QuorumState, b"[1]")), [("bad_json", 0, Some(1))]);
        assert!(parse(TextFormat::CleanShutdown, b"").issues.is_empty());
        assert!(parse(TextFormat::CleanShutdown, br#"{"version":0,"brokerEpoch":167}"#).issues.is_empty());
        assert_eq!(kinds(&parse(TextFormat::CleanShutdown, br#"{"version":0}"#)), [("missing_property", 0, Some(1))]);
    }
}
