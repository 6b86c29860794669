//! Embeds the UI build (`web/dist`, produced by `npm run build` in `web/`)
//! into the component: for every file its route, `Content-Type`, a strong
//! `ETag` (SHA-256 of the bytes) and a gzip copy (kept only when smaller).
//!
//! Without `web/dist` (a fresh checkout where the UI was not built) the
//! component still builds, with a one-page placeholder that says how to
//! build the UI, and cargo prints a warning: `scripts/test` and `scripts/dev`
//! always build the UI first, so the shipped component carries the real one.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Todo</title></head>\
<body><h1>Todo</h1><p>The web UI was not built into this component. Run <code>npm ci &amp;&amp; npm run build</code> \
in <code>web/</code> (scripts/dev and scripts/test do), then rebuild the <code>web</code> component.</p></body></html>\n";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest_dir.join("../../web/dist");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // A directory: cargo re-runs this script when anything inside changes.
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    } else {
        println!(
            "cargo:warning=web/dist/index.html not found: embedding a placeholder page (build the UI with `npm ci && npm run build` in web/)"
        );
        files.push(("/index.html".into(), PLACEHOLDER.as_bytes().to_vec()));
    }
    files.sort();

    let mut table = String::from(
        "/// Every embedded file, sorted by path.\npub static ASSETS: &[Asset] = &[\n",
    );
    for (i, (route, bytes)) in files.iter().enumerate() {
        let raw = out_dir.join(format!("asset-{i}"));
        std::fs::write(&raw, bytes).unwrap();
        let gz = gzip(bytes);
        let gzip_expr = if gz.len() + 64 < bytes.len() {
            let path = out_dir.join(format!("asset-{i}.gz"));
            std::fs::write(&path, &gz).unwrap();
            format!("Some(include_bytes!({:?}))", path.display().to_string())
        } else {
            "None".into()
        };
        let digest = Sha256::digest(bytes);
        let etag: String = digest[..12].iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let _ = writeln!(
            table,
            "    Asset {{ path: {route:?}, content_type: {:?}, etag: \"\\\"{etag}\\\"\", body: include_bytes!({:?}), gzip: {gzip_expr} }},",
            content_type(route),
            raw.display().to_string(),
        );
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("assets.rs"), table).unwrap();
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((format!("/{rel}"), std::fs::read(&path).unwrap()));
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "map" => "application/json",
        _ => "application/octet-stream",
    }
}
