use super::*;
use crate::batch::{AUDIT_LOG, CHUNK_BYTES, Chunker, Tx};
use crate::kv::MemKv;

/// Lines pushed past the chunk size start new chunks, and every sequence number is found in
/// the chunk that holds it, at its line.
#[test]
fn chunks_split_at_the_size_and_every_line_is_found_by_its_sequence_number() {
    let kv = MemKv::default();
    let mut t = Tx::new(&kv);
    let mut chunker = Chunker::new(AUDIT_LOG);
    let line = |seq: u64| format!("{{\"seq\":{seq},\"pad\":\"{}\"}}", "x".repeat(1000));
    for seq in 7..=26 {
        chunker.push(&mut t, seq, line(seq).as_bytes());
    }
    chunker.finish(&mut t);
    kv.apply(t.into_writes()).unwrap();
    let log = Space::of(&kv, AUDIT_LOG);
    let chunks: Vec<Entry> = log.range(b"", None).collect::<Result<_, _>>().unwrap();
    assert!(chunks.len() >= 4, "20 lines of 1 KiB make several chunks");
    assert!(chunks.iter().all(|(_, v)| v.len() <= CHUNK_BYTES));
    for seq in 7..=26 {
        let (first, chunk) = chunk_holding(log, seq).unwrap().unwrap();
        let found = chunk.split(|b| *b == b'\n').nth((seq - first) as usize);
        assert_eq!(found, Some(line(seq).as_bytes()), "seq {seq}");
    }
    assert_eq!(chunk_holding(log, 6).unwrap(), None);
    assert_eq!(chunk_start(log, 6).unwrap(), 6u64.to_be_bytes());
}
