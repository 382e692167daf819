//! The README's console transcripts are run and compared with what standort prints now, so
//! they cannot drift. Each ```console block holds one `$ standort ...` command and its
//! output (stdout, then stderr). Timings, rates and output paths are compared as `#`; the
//! data directory (`../shared/data` in the README) is `STANDORT_DATA_DIR`; `--out` files go
//! to a temporary folder.
//!
//! `STANDORT_BLESS=1 cargo test --release readme` rewrites the blocks with the output of
//! this build (then review the diff).

use super::real_data::data_dir;
use assert_cmd::Command;
use std::path::{Path, PathBuf};

const README_DATA_DIR: &str = "../shared/data";

/// A console block: the line range of its output in the README and the command.
struct Block {
    command: String,
    first_line: usize,
    end_line: usize,
    expected: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "```console" {
            let command = lines[i + 1]
                .strip_prefix("$ ")
                .unwrap_or_else(|| panic!("README.md:{}: no `$ ` command", i + 2));
            let first_line = i + 2;
            let mut end = first_line;
            while lines[end].trim() != "```" {
                end += 1;
            }
            out.push(Block {
                command: command.to_string(),
                first_line,
                end_line: end,
                expected: lines[first_line..end].join("\n"),
            });
            i = end;
        }
        i += 1;
    }
    out
}

/// A word that is a number, followed by a unit of time or rate, or a path after "wrote".
fn normalise(text: &str, data_dir: &str) -> String {
    let text = text.replace(data_dir, README_DATA_DIR);
    let mut lines = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let mut out: Vec<&str> = Vec::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            let next = words.get(i + 1).copied().unwrap_or("");
            let prev = if i > 0 { words[i - 1] } else { "" };
            let number = !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.');
            let timed = next == "s" || next.starts_with("s)") || next.starts_with("s;");
            let rate = next.starts_with("cells/s");
            if (number && (timed || rate)) || prev == "wrote" {
                out.push("#");
            } else {
                out.push(w);
            }
        }
        lines.push(out.join(" ").trim_end().to_string());
    }
    lines.join("\n")
}

/// Run a README command; returns stdout followed by stderr.
fn run(command: &str, data: &Path, scratch: &Path) -> String {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args: Vec<String> = command.split_whitespace().map(String::from).collect();
    assert_eq!(args.remove(0), "standort", "{command}");
    let mut outs = Vec::new();
    for i in 1..args.len() {
        if args[i - 1] == "--out" {
            let name = Path::new(&args[i]).file_name().unwrap().to_owned();
            let temp = scratch.join(name).display().to_string();
            outs.push((temp.clone(), std::mem::replace(&mut args[i], temp)));
        }
    }
    for a in args.iter_mut() {
        if a == README_DATA_DIR {
            *a = data.display().to_string();
        }
    }
    let out = Command::cargo_bin("standort")
        .unwrap()
        .current_dir(&repo)
        .env_remove("STANDORT_DATA_DIR")
        .args(&args)
        .output()
        .unwrap();
    let mut text = String::from_utf8(out.stdout).unwrap();
    text.push_str(&String::from_utf8(out.stderr).unwrap());
    for (temp, original) in outs {
        text = text.replace(&temp, &original);
    }
    text
}

#[test]
fn readme_transcripts_are_what_standort_prints() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let data = data_dir();
    let data_text = data.display().to_string();
    let scratch = tempfile::tempdir().unwrap();
    let blocks = blocks(&readme);
    assert!(blocks.len() >= 5, "{} console blocks", blocks.len());
    let bless = std::env::var_os("STANDORT_BLESS").is_some();
    let mut lines: Vec<String> = readme.lines().map(String::from).collect();
    let mut drifted = Vec::new();
    for b in blocks.iter().rev() {
        let actual = run(&b.command, &data, scratch.path());
        let actual = actual.replace(&data_text, README_DATA_DIR);
        let (want, got) = (
            normalise(&b.expected, &data_text),
            normalise(&actual, &data_text),
        );
        if want != got {
            drifted.push(format!(
                "README.md:{}: `{}`\n--- README\n{want}\n--- standort\n{got}",
                b.first_line, b.command
            ));
            let new: Vec<String> = actual.trim_end().lines().map(String::from).collect();
            lines.splice(b.first_line..b.end_line, new);
        }
    }
    if bless && !drifted.is_empty() {
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        drifted.is_empty(),
        "README transcripts drifted (STANDORT_BLESS=1 rewrites them):\n{}",
        drifted.join("\n\n")
    );
}

#[test]
fn normalising_hides_times_rates_and_paths_only() {
    let n = normalise(
        "standort: 15 sites scored in 0.14 s (layers 0.14 s): 11 ok; wrote /x/y.geojson\n27816 cells scored in 0.56 s (layers and grid 0.19 s; scoring 72004 cells/s)",
        "/nowhere",
    );
    assert_eq!(
        n,
        "standort: 15 sites scored in # s (layers # s): 11 ok; wrote #\n27816 cells scored in # s (layers and grid # s; scoring # cells/s)"
    );
}
