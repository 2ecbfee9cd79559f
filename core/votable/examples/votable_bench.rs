//! The VOTable side of tests/perf/votable.sh.
//!
//! `votable_bench generate ROWS BINARY2_PATH TABLEDATA_PATH` writes one table of ROWS rows and
//! 20 columns (doubles, floats, ints, longs, shorts, a boolean, a string) in both
//! serialisations; `votable_bench parse PATH` streams a file through the reader, dropping the
//! batches, and prints the rows, seconds and peak memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use skyglass_votable::{Event, Serialization, VoTableReader, WriteOptions, write_votable};
use std::io::BufReader;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("generate") => generate(args[2].parse().unwrap(), &args[3], &args[4]),
        Some("parse") => parse(&args[2]),
        _ => panic!("usage: votable_bench generate ROWS B2 TD | parse PATH"),
    }
}

/// A deterministic pseudo-random sequence (SplitMix64), so every run sees the same table.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn generate(rows: usize, binary2: &str, tabledata: &str) {
    let mut fields = Vec::new();
    for i in 0..6 {
        fields.push(Field::new(format!("d{i}"), DataType::Float64, true));
    }
    for i in 0..4 {
        fields.push(Field::new(format!("f{i}"), DataType::Float32, true));
    }
    for i in 0..4 {
        fields.push(Field::new(format!("i{i}"), DataType::Int32, true));
    }
    for i in 0..2 {
        fields.push(Field::new(format!("l{i}"), DataType::Int64, true));
    }
    for i in 0..2 {
        fields.push(Field::new(format!("s{i}"), DataType::Int16, true));
    }
    fields.push(Field::new("flag", DataType::Boolean, true));
    fields.push(Field::new("name", DataType::Utf8, true));
    let schema = Arc::new(Schema::new(fields));
    let mut numbers = Numbers(42);
    let mut batches = Vec::new();
    let chunk = 100_000;
    let mut done = 0;
    while done < rows {
        let n = chunk.min(rows - done);
        let mut columns: Vec<ArrayRef> = Vec::new();
        for _ in 0..6 {
            columns.push(Arc::new(Float64Array::from_iter_values((0..n).map(|_| numbers.unit() * 360.0 - 180.0))));
        }
        for _ in 0..4 {
            columns.push(Arc::new(Float32Array::from_iter_values((0..n).map(|_| (numbers.unit() * 30.0) as f32))));
        }
        for _ in 0..4 {
            columns.push(Arc::new(Int32Array::from_iter_values((0..n).map(|_| numbers.next() as i32))));
        }
        for _ in 0..2 {
            columns.push(Arc::new(Int64Array::from_iter_values((0..n).map(|_| numbers.next() as i64))));
        }
        for _ in 0..2 {
            columns.push(Arc::new(Int16Array::from_iter_values((0..n).map(|_| numbers.next() as i16))));
        }
        columns.push(Arc::new(BooleanArray::from_iter((0..n).map(|_| Some(numbers.next().is_multiple_of(2))))));
        columns.push(Arc::new(StringArray::from_iter_values((0..n).map(|k| format!("src_{}", done + k)))));
        batches.push(RecordBatch::try_new(schema.clone(), columns).unwrap());
        done += n;
    }
    for (path, serialization) in [(binary2, Serialization::Binary2), (tabledata, Serialization::TableData)] {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        write_votable(&mut out, &schema, &batches, serialization, &WriteOptions::default()).unwrap();
    }
}

fn parse(path: &str) {
    let start = Instant::now();
    let file = std::fs::File::open(path).unwrap();
    let mut reader = VoTableReader::new(BufReader::with_capacity(1 << 20, file));
    let mut rows = 0;
    while let Some(event) = reader.next_event().unwrap() {
        if let Event::Batch { batch, .. } = event {
            rows += batch.num_rows();
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("rows={rows} seconds={seconds:.3} peak_rss_mb={}", peak_rss_mb());
}

/// The process's peak resident memory (Linux), to show that streaming stays bounded.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
        .map_or(0, |kb| kb / 1024)
}
