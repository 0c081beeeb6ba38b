//! Reading the log files child processes write.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The log from byte `offset` on, lossily decoded; empty if the file cannot be read.
pub fn read_log(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|mut file| {
        file.seek(SeekFrom::Start(offset))?;
        file.read_to_end(&mut bytes)
    });
    match read {
        Ok(_) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

/// The last `lines` lines of the log, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = read_log(path, 0);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
