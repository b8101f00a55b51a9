//! Replays the seed corpus and every kept crashing input through the same functions the
//! fuzz targets call: `cargo test` in `fuzz/` (stable is fine). A panic fails the test.

use std::{fs, path::Path};

fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
    let mut count = 0;
    for dir in ["seeds", "regressions"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let data = fs::read(&path).expect("a readable input");
            eprintln!("{}", path.display());
            run(&data);
            count += 1;
        }
    }
    count
}

#[test]
fn list_query_inputs() {
    let n = replay("list_query", |d| {
        flagstone_fuzz::list_query(&String::from_utf8_lossy(d))
    });
    assert!(n > 0, "no inputs for list_query");
}

#[test]
fn cursor_inputs() {
    assert!(replay("cursor", flagstone_fuzz::cursor) > 0);
}

#[test]
fn store_eval_inputs() {
    assert!(replay("store_eval", flagstone_fuzz::store_eval) > 0);
}
