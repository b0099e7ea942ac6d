//! The fuzz corpora in `fuzz/corpus/<target>/` replayed through the same target bodies the
//! fuzzer runs (`fuzz/harness.rs`): every input the fuzzer kept, including any that once
//! found a defect, runs on every test run, in seconds. The long runs are `scripts/fuzz`.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_fuzz_corpus_input_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, target) in harness::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {name}");
        for f in &files {
            let data = std::fs::read(f).unwrap();
            let ok = std::panic::catch_unwind(|| target(&data));
            assert!(ok.is_ok(), "fuzz target {name} panics on {}", f.display());
        }
        eprintln!("{name}: {} inputs replayed", files.len());
    }
}
