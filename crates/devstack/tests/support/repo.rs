//! Where things are: the repository, the components' `.wasm` (built by
//! `cargo build --target wasm32-wasip2 --release`, into `$CARGO_TARGET_DIR`
//! like every other build), test copies of `spin.toml` that point at them,
//! and scratch directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// `$CARGO_TARGET_DIR` (relative to the repo root) or `<repo>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// What `spin.toml` names as task-api's source.
pub const TASK_API_SOURCE: &str = "target/wasm32-wasip2/release/task_api.wasm";

/// Builds a crate for wasm32-wasip2 (release) into the target directory
/// `target`, one of its own, so the build never waits on the lock
/// `cargo test` holds.
pub fn build_wasm(manifest: &Path, package: Option<&str>, target: &Path) {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(manifest)
    .env("CARGO_TARGET_DIR", target)
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if let Some(p) = package {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().expect("run cargo");
    assert!(status.success(), "building {} failed", manifest.display());
}

/// task-api's `.wasm`: the one in the target directory if it is built, else
/// built once (per test binary) into `devstack-fixtures` there.
pub fn task_api_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let root = repo_root();
        let spin_toml = std::fs::read_to_string(root.join("spin.toml")).unwrap();
        assert!(
            spin_toml.contains(TASK_API_SOURCE),
            "spin.toml no longer names {TASK_API_SOURCE}"
        );
        let wasm = target_dir().join("wasm32-wasip2/release/task_api.wasm");
        if wasm.is_file() {
            return wasm;
        }
        let target = target_dir().join("devstack-fixtures");
        build_wasm(&root.join("Cargo.toml"), Some("task-api"), &target);
        target.join("wasm32-wasip2/release/task_api.wasm")
    })
}

/// The built `.wasm` of component `app` (`sync-relay` → `sync_relay.wasm`).
/// A missing one fails the test rather than skipping it (`scripts/test`
/// builds every component first).
pub fn component_wasm(app: &str) -> PathBuf {
    let wasm = target_dir().join(format!(
        "wasm32-wasip2/release/{}.wasm",
        app.replace('-', "_")
    ));
    assert!(
        wasm.is_file(),
        "{} is missing: run `cargo build --target wasm32-wasip2 --release -p {app}` first",
        wasm.display()
    );
    wasm
}

/// A copy of `spin.toml` in `dir` whose sources are absolute: task-api's
/// is [`task_api_wasm`], the others are in the target directory.
pub fn manifest_in(dir: &Path) -> PathBuf {
    let root = repo_root();
    let spin_toml = std::fs::read_to_string(root.join("spin.toml")).unwrap();
    let text = spin_toml
        .replace(TASK_API_SOURCE, &task_api_wasm().display().to_string())
        .replace(
            "source = \"target/",
            &format!("source = \"{}/", target_dir().display()),
        );
    let manifest = dir.join("spin.toml");
    std::fs::write(&manifest, text).unwrap();
    manifest
}

/// A fresh directory under the system's temporary directory, kept.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "devstack-test-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A file `name` with `content` in a fresh scratch directory; its path.
pub fn temp_file(name: &str, content: &str) -> String {
    let path = scratch_dir("file").join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

/// A scratch directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir(scratch_dir(name))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
