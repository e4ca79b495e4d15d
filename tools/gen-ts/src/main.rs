//! `gen-ts [--check] [OUT_DIR]`: writes the TypeScript client's generated protocol module, or
//! with `--check` exits 1 when the checked-in file differs from what the Rust types say.

use pzo_gen_ts::{DEFAULT_OUT_DIR, FILE_NAME, render};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut out_dir: Option<PathBuf> = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: gen-ts [--check] [OUT_DIR]  (OUT_DIR defaults to {DEFAULT_OUT_DIR})");
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with('-') => {
                eprintln!("gen-ts: unknown flag {flag}");
                return ExitCode::from(2);
            }
            dir => out_dir = Some(PathBuf::from(dir)),
        }
    }
    // The default is relative to the workspace root, wherever cargo runs from.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap_or(Path::new("."));
    let out_dir = out_dir.unwrap_or_else(|| workspace.join(DEFAULT_OUT_DIR));
    let text = match render() {
        Ok(text) => text,
        Err(reasons) => {
            eprintln!("gen-ts: the Rust tables disagree:\n{reasons}");
            return ExitCode::FAILURE;
        }
    };
    let path = out_dir.join(FILE_NAME);
    if check {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            println!("gen-ts: {} is up to date", path.display());
            return ExitCode::SUCCESS;
        }
        eprintln!("gen-ts: {} is stale; run `cargo run -p pzo-gen-ts` and commit the result", path.display());
        return ExitCode::FAILURE;
    }
    if let Err(error) = std::fs::create_dir_all(&out_dir).and_then(|()| std::fs::write(&path, &text)) {
        eprintln!("gen-ts: cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    println!("gen-ts: wrote {}", path.display());
    ExitCode::SUCCESS
}
