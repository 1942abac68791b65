//! Records as Arrow columns, written as Parquet files or an Arrow IPC
//! stream (`kseg export`, docs/export.md). Apache Arrow's own crates do the
//! encoding; this module only lays out the schema and fills the columns.
//!
//! Rows are gathered a bounded number at a time ([`Rows::full`]) into one
//! Arrow `RecordBatch`, which the caller hands to a writer. A Parquet
//! writer gathers batches into a row group of bounded size and hands it to
//! the [`Encoders`]' threads, a bounded number at a time ([`RowGroups`]):
//! memory holds those row groups, whatever the input size.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Int16Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use kseg::BatchInfo;
use kseg::format::record::Record;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

/// Rows per Arrow batch handed to a writer.
pub const BATCH_ROWS: usize = 16 * 1024;
/// Key, value and header bytes per Arrow batch (one record may exceed it).
pub const BATCH_BYTES: usize = 8 << 20;
/// Kafka's NO_TIMESTAMP: a record without a timestamp (magic v0).
const NO_TIMESTAMP: i64 = -1;

/// What the columns hold beyond the records themselves.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Keys as text (UTF-8, invalid bytes replaced) rather than bytes.
    pub key_utf8: bool,
    /// Values and header values as text rather than bytes.
    pub value_utf8: bool,
    /// `--add-column NAME=VALUE`: constant text columns, last.
    pub extra: Vec<(String, String)>,
}

impl Layout {
    /// The schema of every file and stream `kseg export` writes
    /// (docs/export.md lists it).
    pub fn schema(&self) -> SchemaRef {
        let bytes = |utf8: bool| if utf8 { DataType::Utf8 } else { DataType::Binary };
        let header = Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", bytes(self.value_utf8), true),
        ]);
        let mut fields = vec![
            Field::new("topic", DataType::Utf8, true),
            Field::new("partition", DataType::Int32, true),
            Field::new("offset", DataType::Int64, false),
            Field::new("timestamp", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
            Field::new("timestamp_type", DataType::Utf8, false),
            Field::new("key", bytes(self.key_utf8), true),
            Field::new("value", bytes(self.value_utf8), true),
            Field::new(
                "headers",
                DataType::List(Arc::new(Field::new_list_field(DataType::Struct(header), false))),
                false,
            ),
            Field::new("base_offset", DataType::Int64, false),
            Field::new("producer_id", DataType::Int64, false),
            Field::new("producer_epoch", DataType::Int16, false),
            Field::new("base_sequence", DataType::Int32, false),
            Field::new("is_transactional", DataType::Boolean, false),
            Field::new("is_control", DataType::Boolean, false),
            Field::new("compression", DataType::Utf8, true),
            Field::new("partition_leader_epoch", DataType::Int32, false),
            Field::new("file", DataType::Utf8, false),
            Field::new("position", DataType::Int64, false),
            Field::new("aborted", DataType::Boolean, false),
        ];
        fields.extend(self.extra.iter().map(|(name, _)| Field::new(name, DataType::Utf8, false)));
        Arc::new(Schema::new(fields))
    }
}

/// Key, value or header value bytes, as bytes or as text.
enum Bytes {
    Binary(BinaryBuilder),
    Text(StringBuilder),
}

impl Bytes {
    fn new(utf8: bool) -> Self {
        if utf8 { Bytes::Text(StringBuilder::new()) } else { Bytes::Binary(BinaryBuilder::new()) }
    }

    /// Room for a whole batch's payload from the start: grown by doubling,
    /// the buffer would be copied about once more and faulted in twice.
    /// (Pages not written are never touched: a small partition pays nothing.)
    fn with_capacity(utf8: bool) -> Self {
        if utf8 {
            Bytes::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_BYTES))
        } else {
            Bytes::Binary(BinaryBuilder::with_capacity(BATCH_ROWS, BATCH_BYTES))
        }
    }

    fn append(&mut self, v: Option<&[u8]>) {
        match (self, v) {
            (Bytes::Binary(b), v) => b.append_option(v),
            (Bytes::Text(b), Some(v)) => b.append_value(String::from_utf8_lossy(v)),
            (Bytes::Text(b), None) => b.append_null(),
        }
    }

    /// The array, and a builder with a batch's room again.
    fn finish_with_room(&mut self) -> ArrayRef {
        let utf8 = matches!(self, Bytes::Text(_));
        std::mem::replace(self, Bytes::with_capacity(utf8)).finish()
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Bytes::Binary(b) => Arc::new(b.finish()),
            Bytes::Text(b) => Arc::new(b.finish()),
        }
    }
}

/// Where the rows of one partition come from.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub topic: Option<String>,
    pub partition: Option<i32>,
}

/// Rows being gathered into the next Arrow batch.
pub struct Rows {
    schema: SchemaRef,
    extra: Vec<String>,
    len: usize,
    bytes: usize,
    topic: StringBuilder,
    partition: Int32Builder,
    offset: Int64Builder,
    timestamp: TimestampMillisecondBuilder,
    timestamp_type: StringBuilder,
    key: Bytes,
    value: Bytes,
    header_offsets: Vec<i32>,
    header_key: StringBuilder,
    header_value: Bytes,
    base_offset: Int64Builder,
    producer_id: Int64Builder,
    producer_epoch: Int16Builder,
    base_sequence: Int32Builder,
    is_transactional: BooleanBuilder,
    is_control: BooleanBuilder,
    compression: StringBuilder,
    partition_leader_epoch: Int32Builder,
    file: StringBuilder,
    position: Int64Builder,
    aborted: BooleanBuilder,
}

impl Rows {
    pub fn new(layout: &Layout) -> Self {
        Rows {
            schema: layout.schema(),
            extra: layout.extra.iter().map(|(_, v)| v.clone()).collect(),
            len: 0,
            bytes: 0,
            topic: StringBuilder::new(),
            partition: Int32Builder::new(),
            offset: Int64Builder::new(),
            timestamp: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            timestamp_type: StringBuilder::new(),
            key: Bytes::new(layout.key_utf8),
            value: Bytes::with_capacity(layout.value_utf8),
            header_offsets: vec![0],
            header_key: StringBuilder::new(),
            header_value: Bytes::new(layout.value_utf8),
            base_offset: Int64Builder::new(),
            producer_id: Int64Builder::new(),
            producer_epoch: Int16Builder::new(),
            base_sequence: Int32Builder::new(),
            is_transactional: BooleanBuilder::new(),
            is_control: BooleanBuilder::new(),
            compression: StringBuilder::new(),
            partition_leader_epoch: Int32Builder::new(),
            file: StringBuilder::new(),
            position: Int64Builder::new(),
            aborted: BooleanBuilder::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the batch should be handed on before more rows are added.
    pub fn full(&self) -> bool {
        self.len >= BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    /// One record of `batch`, read from `file` of the partition `origin`.
    pub fn push(&mut self, origin: &Origin, file: &str, batch: &BatchInfo, aborted: bool, r: &Record<'_>) {
        self.len += 1;
        self.topic.append_option(origin.topic.as_deref());
        self.partition.append_option(origin.partition);
        self.offset.append_value(r.offset);
        self.timestamp.append_option((r.timestamp != NO_TIMESTAMP).then_some(r.timestamp));
        self.timestamp_type.append_value(batch.timestamp_type.name());
        self.key.append(r.key);
        self.value.append(r.value);
        let mut bytes = r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len);
        for (k, v) in r.headers.iter() {
            self.header_key.append_value(String::from_utf8_lossy(k));
            self.header_value.append(v);
            bytes += k.len() + v.map_or(0, <[u8]>::len);
        }
        let last = *self.header_offsets.last().unwrap_or(&0);
        // Header counts are bounded by the batch's bytes, far below 2^31.
        self.header_offsets.push(last.saturating_add(i32::try_from(r.headers.len()).unwrap_or(i32::MAX)));
        self.base_offset.append_value(batch.base_offset);
        self.producer_id.append_value(batch.producer_id);
        self.producer_epoch.append_value(batch.producer_epoch);
        self.base_sequence.append_value(batch.base_sequence);
        self.is_transactional.append_value(batch.is_transactional);
        self.is_control.append_value(batch.is_control);
        self.compression.append_option(batch.compression.map(|c| c.name()));
        self.partition_leader_epoch.append_value(batch.partition_leader_epoch);
        self.file.append_value(file);
        self.position.append_value(batch.position as i64);
        self.aborted.append_value(aborted);
        // The fixed columns, roughly, so that many tiny records count too.
        self.bytes += bytes + 96 + file.len();
    }

    /// The rows gathered so far as one Arrow batch; the builders start over.
    pub fn finish(&mut self) -> io::Result<RecordBatch> {
        let Some(DataType::List(item)) = self.schema.fields().find("headers").map(|(_, f)| f.data_type().clone())
        else {
            unreachable!("the schema has a headers list")
        };
        let DataType::Struct(header_fields) = item.data_type().clone() else { unreachable!("headers hold structs") };
        let structs = StructArray::try_new(
            header_fields,
            vec![Arc::new(self.header_key.finish()), self.header_value.finish()],
            None,
        )
        .map_err(io::Error::other)?;
        let offsets = OffsetBuffer::new(std::mem::replace(&mut self.header_offsets, vec![0]).into());
        let headers = ListArray::try_new(item, offsets, Arc::new(structs), None).map_err(io::Error::other)?;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.topic.finish()),
            Arc::new(self.partition.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.timestamp_type.finish()),
            self.key.finish(),
            self.value.finish_with_room(),
            Arc::new(headers),
            Arc::new(self.base_offset.finish()),
            Arc::new(self.producer_id.finish()),
            Arc::new(self.producer_epoch.finish()),
            Arc::new(self.base_sequence.finish()),
            Arc::new(self.is_transactional.finish()),
            Arc::new(self.is_control.finish()),
            Arc::new(self.compression.finish()),
            Arc::new(self.partition_leader_epoch.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.position.finish()),
            Arc::new(self.aborted.finish()),
        ];
        for v in &self.extra {
            columns.push(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(v, self.len))));
        }
        self.len = 0;
        self.bytes = 0;
        RecordBatch::try_new(self.schema.clone(), columns).map_err(io::Error::other)
    }
}

/// The Parquet settings: `compression` (zstd level 1 by default),
/// statistics where engines prune (offset, timestamp and the small numeric
/// and text columns), none on the payloads, and no dictionary for columns
/// that are nearly unique per row.
pub fn parquet_properties(compression: Compression) -> WriterProperties {
    let col = |name: &str| ColumnPath::from(name);
    let mut b = WriterProperties::builder()
        .set_compression(compression)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_column_statistics_enabled(col("offset"), EnabledStatistics::Page)
        .set_column_statistics_enabled(col("timestamp"), EnabledStatistics::Page)
        .set_created_by(format!("kseg {}", env!("CARGO_PKG_VERSION")));
    for unique in ["offset", "timestamp", "key", "value", "position"] {
        b = b.set_column_dictionary_enabled(col(unique), false);
    }
    // Payloads: statistics of arbitrary bytes help no engine and cost time.
    for payload in [
        ColumnPath::new(vec!["key".into()]),
        ColumnPath::new(vec!["value".into()]),
        ColumnPath::new(vec!["headers".into(), "list".into(), "element".into(), "value".into()]),
        ColumnPath::new(vec!["headers".into(), "list".into(), "item".into(), "value".into()]),
    ] {
        b = b.set_column_statistics_enabled(payload, EnabledStatistics::None);
    }
    b.build()
}

/// The Hive-style directory of one partition under `out`:
/// `topic=T/partition=P`, with Hive's name for an unknown value.
pub fn hive_dir(out: &Path, origin: &Origin) -> PathBuf {
    const NULL: &str = "__HIVE_DEFAULT_PARTITION__";
    let partition = origin.partition.map(|p| p.to_string());
    out.join(format!("topic={}", origin.topic.as_deref().unwrap_or(NULL)))
        .join(format!("partition={}", partition.as_deref().unwrap_or(NULL)))
}

/// Threads that encode and compress Parquet row groups, shared by every
/// partition of one export. The partitions' own threads decode records
/// and fill Arrow batches; a full row group goes here, so that decoding
/// the next row group overlaps compressing the last ones, and one
/// partition keeps every core busy (zstd is most of the work).
pub struct Encoders {
    jobs: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Encoders {
    /// `n` threads; with 0 every row group is encoded by the thread that
    /// filled it (`-j1`: one thread in all).
    pub fn new(n: usize) -> io::Result<Self> {
        if n == 0 {
            return Ok(Encoders { jobs: None, threads: Vec::new() });
        }
        // No more queued than threads: the row groups waiting are bounded
        // by the partitions' own limit (`in_flight`) anyway.
        let (tx, rx) = sync_channel::<Job>(n);
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let rx = Arc::clone(&rx);
            let t = std::thread::Builder::new().name(format!("kseg-encode-{i}")).spawn(move || {
                loop {
                    // The lock is held only while waiting for a job.
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })?;
            threads.push(t);
        }
        Ok(Encoders { jobs: Some(tx), threads })
    }

    /// Run `job` on an encoder thread, or here when there is none.
    fn submit(&self, job: Job) {
        match &self.jobs {
            Some(tx) => {
                // Only fails when every encoder thread is gone (a panic):
                // then run it here rather than lose a row group.
                if let Err(e) = tx.send(job) {
                    (e.0)();
                }
            }
            None => job(),
        }
    }
}

impl Drop for Encoders {
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// How big a row group grows, and how many of one partition may be
/// encoding at once: peak memory is about their product times the
/// partitions read at once (docs/export.md).
#[derive(Clone, Copy, Debug)]
pub struct RowGroups {
    /// Arrow bytes (as held in memory) per row group.
    pub bytes: usize,
    /// Rows per row group at most.
    pub rows: usize,
    /// Row groups of one partition handed to the encoders and not yet written.
    pub in_flight: usize,
}

/// A row group's column chunks, encoded and compressed, or why not.
type Encoded = parquet::errors::Result<Vec<ArrowColumnChunk>>;

/// One partition's Parquet output: `part-N.parquet` in its Hive directory,
/// created on the first row (the first `N` not taken, so that two inputs
/// with the same topic and partition both land), never over a file.
pub struct ParquetPart<'e> {
    dir: PathBuf,
    props: WriterProperties,
    encoders: &'e Encoders,
    limits: RowGroups,
    /// Batches of the row group being gathered, and their size.
    gathered: Vec<RecordBatch>,
    gathered_bytes: usize,
    gathered_rows: usize,
    file: Option<OpenPart>,
}

struct OpenPart {
    path: PathBuf,
    writer: SerializedFileWriter<BufWriter<File>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    row_groups: usize,
    /// Row groups being encoded, oldest first: written in this order.
    in_flight: VecDeque<Receiver<Encoded>>,
}

impl<'e> ParquetPart<'e> {
    pub fn new(dir: PathBuf, props: WriterProperties, encoders: &'e Encoders, limits: RowGroups) -> Self {
        ParquetPart {
            dir,
            props,
            encoders,
            limits,
            gathered: Vec::new(),
            gathered_bytes: 0,
            gathered_rows: 0,
            file: None,
        }
    }

    pub fn write(&mut self, batch: RecordBatch) -> io::Result<()> {
        if self.file.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let (path, file) = create_part(&self.dir)?;
            let schema = batch.schema();
            // ArrowWriter lays out the Parquet schema and the Arrow schema in
            // the footer (time zone and all); its lower level takes row groups
            // encoded elsewhere.
            let w =
                ArrowWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema.clone(), Some(self.props.clone()))
                    .map_err(io::Error::other)?;
            let (writer, factory) = w.into_serialized_writer().map_err(io::Error::other)?;
            self.file = Some(OpenPart { path, writer, factory, schema, row_groups: 0, in_flight: VecDeque::new() });
        }
        self.gathered_bytes += batch.get_array_memory_size();
        self.gathered_rows += batch.num_rows();
        self.gathered.push(batch);
        if self.gathered_bytes >= self.limits.bytes || self.gathered_rows >= self.limits.rows {
            self.hand_on()?;
        }
        Ok(())
    }

    /// The gathered batches to the encoders as one row group; the oldest
    /// encoded row groups written out while too many are in flight.
    fn hand_on(&mut self) -> io::Result<()> {
        let Some(open) = self.file.as_mut() else { return Ok(()) };
        if self.gathered.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.gathered);
        self.gathered_bytes = 0;
        self.gathered_rows = 0;
        let writers = open.factory.create_column_writers(open.row_groups).map_err(io::Error::other)?;
        open.row_groups += 1;
        let schema = open.schema.clone();
        let (tx, rx) = channel();
        self.encoders.submit(Box::new(move || {
            let _ = tx.send(encode(writers, &schema, batches));
        }));
        open.in_flight.push_back(rx);
        while open.in_flight.len() > self.limits.in_flight {
            open.append_oldest()?;
        }
        Ok(())
    }

    /// Remove the file begun, after a failure: an engine would stop at a
    /// Parquet file without its footer.
    pub fn abandon(self) {
        if let Some(mut open) = self.file {
            // Let the row groups in flight finish with nobody waiting.
            open.in_flight.clear();
            let path = open.path.clone();
            drop(open);
            let _ = std::fs::remove_file(path);
        }
    }

    /// Close the file; the path written, if any row was.
    pub fn close(mut self) -> io::Result<Option<PathBuf>> {
        self.hand_on()?;
        match self.file.take() {
            Some(mut open) => {
                while !open.in_flight.is_empty() {
                    open.append_oldest()?;
                }
                let mut inner = open.writer.into_inner().map_err(io::Error::other)?;
                inner.flush()?;
                Ok(Some(open.path))
            }
            None => Ok(None),
        }
    }
}

impl OpenPart {
    /// Wait for the oldest row group in flight and write it.
    fn append_oldest(&mut self) -> io::Result<()> {
        let Some(rx) = self.in_flight.pop_front() else { return Ok(()) };
        let chunks =
            rx.recv().map_err(|_| io::Error::other("a Parquet encoder thread stopped"))?.map_err(parquet_io)?;
        let mut rg = self.writer.next_row_group().map_err(parquet_io)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut rg).map_err(parquet_io)?;
        }
        rg.close().map_err(parquet_io)?;
        Ok(())
    }
}

/// One row group: every column of `batches`, encoded and compressed.
fn encode(mut writers: Vec<ArrowColumnWriter>, schema: &Schema, batches: Vec<RecordBatch>) -> Encoded {
    for batch in batches {
        let mut w = writers.iter_mut();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, column)? {
                let Some(writer) = w.next() else {
                    return Err(parquet::errors::ParquetError::General("more leaves than column writers".into()));
                };
                writer.write(&leaf)?;
            }
        }
    }
    writers.into_iter().map(ArrowColumnWriter::close).collect()
}

/// Parquet's error, keeping an I/O error's kind (a full disk stays one).
fn parquet_io(e: parquet::errors::ParquetError) -> io::Error {
    match e {
        parquet::errors::ParquetError::External(e) => match e.downcast::<io::Error>() {
            Ok(e) => *e,
            Err(e) => io::Error::other(e),
        },
        e => io::Error::other(e),
    }
}

/// The first `part-N.parquet` in `dir` that does not exist, created
/// exclusively (two threads, or another kseg, never share a file).
fn create_part(dir: &Path) -> io::Result<(PathBuf, File)> {
    for n in 0..100_000u32 {
        let path = dir.join(format!("part-{n}.parquet"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{}: no free part-N.parquet name", dir.display())))
}

/// An Arrow IPC stream (the streaming format: schema, then batches).
pub struct ArrowStream {
    writer: arrow_ipc::writer::StreamWriter<Box<dyn Write + Send>>,
}

impl ArrowStream {
    pub fn new(out: Box<dyn Write + Send>, schema: &Schema) -> io::Result<Self> {
        let writer = arrow_ipc::writer::StreamWriter::try_new(out, schema).map_err(io::Error::other)?;
        Ok(ArrowStream { writer })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        self.writer.write(batch).map_err(arrow_io)
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.writer.finish().map_err(arrow_io)?;
        self.writer.get_mut().flush()
    }
}

/// Arrow's error, keeping an I/O error's kind (a closed pipe stays one).
fn arrow_io(e: arrow_schema::ArrowError) -> io::Error {
    match e {
        arrow_schema::ArrowError::IoError(_, e) => e,
        e => io::Error::other(e),
    }
}
