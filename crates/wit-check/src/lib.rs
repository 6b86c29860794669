//! Checks that a built component fits the WIT world in `wit/`.
//!
//! Every component must run unchanged on Spin (SpinKube's shim), under
//! `wasmtime serve` and inside devstack. That only holds while a component
//! imports nothing but the WASI interfaces all three provide, so architecture §2
//! pins them down as the world `todo-component` in `wit/world.wit`, and this
//! crate compares each built `.wasm` against it:
//!
//! - [`read_component`] lists a component's top-level imports and exports by
//!   name (`wasi:http/outgoing-handler@0.2.0`) with `wasmparser`;
//! - [`load_world`] resolves `wit/` with `wit-parser` and lists the interfaces
//!   the world allows (including the ones its imports pull in);
//! - [`check`] reports every import the world does not allow, every export
//!   it does not declare, and every world export the component lacks.
//!
//! Versions: a component may import `pkg/iface@V` where the world has
//! `pkg/iface@W` when both are on the same semver track (same major; same
//! minor for `0.x`) and `V <= W`: a host that provides `W` (or a newer patch)
//! satisfies an import of any older patch on the track, but not of a newer
//! one. Exports only need the same track: a host calling an older patch of an
//! export finds it in a newer one.
//!
//! The test in `tests/components.rs` runs this over every crate under
//! `components/`, using [`discover_components`] and [`wasm_path`].

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use semver::Version;
use wasmparser::{Encoding, Parser, Payload};
use wit_parser::{Resolve, WorldItem, WorldKey};

/// The world every component must fit.
pub const WORLD: &str = "todo-component";

/// The rust target components are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// A name a component imports or exports, split into its parts.
///
/// `wasi:http/types@0.2.0` has package `wasi:http`, interface `types` and
/// version `0.2.0`. A plain name (a bare function or instance name such as
/// `run`) has no package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemName {
    /// The name exactly as written in the component or the world.
    pub raw: String,
    /// `namespace:package`, if the name is an interface name.
    pub package: Option<String>,
    /// The interface (or, for plain names, the whole name without version).
    pub interface: String,
    /// The `@version`, if any.
    pub version: Option<Version>,
}

impl ItemName {
    /// Parses `ns:pkg/iface@ver`, `ns:pkg/iface` or a plain name.
    pub fn parse(raw: &str) -> Self {
        let (path, version) = match raw.split_once('@') {
            Some((path, v)) => (path, Version::parse(v).ok()),
            None => (raw, None),
        };
        let (package, interface) = match path.split_once('/') {
            Some((pkg, iface)) if pkg.contains(':') => (Some(pkg.to_string()), iface.to_string()),
            _ => (None, path.to_string()),
        };
        ItemName {
            raw: raw.to_string(),
            package,
            interface,
            version,
        }
    }

    fn same_item(&self, other: &ItemName) -> bool {
        self.package == other.package && self.interface == other.interface
    }

    /// Whether an import of `self` is satisfied by a host that provides
    /// `allowed`: same item, same semver track, and not newer.
    pub fn import_satisfied_by(&self, allowed: &ItemName) -> bool {
        if !self.same_item(allowed) {
            return false;
        }
        match (&self.version, &allowed.version) {
            (None, None) => true,
            (Some(used), Some(allowed)) => same_track(used, allowed) && used <= allowed,
            _ => false,
        }
    }

    /// Whether an export of `self` can stand for the world's export
    /// `declared`: same item and same semver track.
    pub fn export_matches(&self, declared: &ItemName) -> bool {
        if !self.same_item(declared) {
            return false;
        }
        match (&self.version, &declared.version) {
            (None, None) => true,
            (Some(a), Some(b)) => same_track(a, b),
            _ => false,
        }
    }
}

impl fmt::Display for ItemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Semver compatibility as the component model uses it for name lookups:
/// same major for `>= 1`, same minor for `0.x`, same patch for `0.0.x`, and
/// pre-releases only match themselves.
fn same_track(a: &Version, b: &Version) -> bool {
    if !a.pre.is_empty() || !b.pre.is_empty() {
        return a == b;
    }
    match (a.major, b.major) {
        (0, 0) => match (a.minor, b.minor) {
            (0, 0) => a.patch == b.patch,
            (x, y) => x == y,
        },
        (x, y) => x == y,
    }
}

/// The top-level imports and exports of a component, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentSurface {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Lists the top-level imports and exports of a component binary.
///
/// Nested core modules and components are skipped: only what the host sees
/// counts. A core module (not a component) is an error.
pub fn read_component(bytes: &[u8]) -> Result<ComponentSurface> {
    let mut surface = ComponentSurface::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.context("not a valid WebAssembly binary")? {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != Encoding::Component {
                    bail!("a core WebAssembly module, not a component");
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    surface.imports.push(import?.name.0.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    surface.exports.push(export?.name.0.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(surface)
}

/// What a world allows: the interfaces (or plain names) it imports,
/// including those its imports depend on, and the ones it exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldSurface {
    pub name: String,
    pub imports: Vec<ItemName>,
    pub exports: Vec<ItemName>,
}

/// Resolves the WIT package in `wit_dir` (with its `deps/`) and lists what
/// `world` imports and exports.
pub fn load_world(wit_dir: &Path, world: &str) -> Result<WorldSurface> {
    let mut resolve = Resolve::new();
    let (pkg, _) = resolve
        .push_dir(wit_dir)
        .with_context(|| format!("cannot resolve the WIT in {}", wit_dir.display()))?;
    let world_id = resolve
        .select_world(&[pkg], Some(world))
        .with_context(|| format!("no world `{world}` in {}", wit_dir.display()))?;
    let w = &resolve.worlds[world_id];
    // Type items (`use` at world level) are not instances a host provides.
    let names = |items: Vec<(&WorldKey, &WorldItem)>| -> Vec<ItemName> {
        items
            .into_iter()
            .filter(|(_, item)| !matches!(item, WorldItem::Type(_)))
            .map(|(key, _)| ItemName::parse(&resolve.name_world_key(key)))
            .collect()
    };
    Ok(WorldSurface {
        name: world.to_string(),
        imports: names(w.imports.iter().collect()),
        exports: names(w.exports.iter().collect()),
    })
}

/// One way a component does not fit the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The component imports something the world does not provide.
    Import(String),
    /// The component exports something the world does not declare.
    Export(String),
    /// The world requires an export the component lacks.
    MissingExport(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Import(name) => {
                write!(f, "imports `{name}`, which the world does not allow")
            }
            Violation::Export(name) => {
                write!(f, "exports `{name}`, which the world does not declare")
            }
            Violation::MissingExport(name) => write!(f, "does not export `{name}`"),
        }
    }
}

/// Compares a component against a world; an empty list means it fits.
pub fn check(component: &ComponentSurface, world: &WorldSurface) -> Vec<Violation> {
    let mut violations = Vec::new();
    for import in &component.imports {
        let name = ItemName::parse(import);
        if !world.imports.iter().any(|a| name.import_satisfied_by(a)) {
            violations.push(Violation::Import(import.clone()));
        }
    }
    let exports: Vec<ItemName> = component
        .exports
        .iter()
        .map(|e| ItemName::parse(e))
        .collect();
    for export in &exports {
        if !world.exports.iter().any(|d| export.export_matches(d)) {
            violations.push(Violation::Export(export.raw.clone()));
        }
    }
    for declared in &world.exports {
        if !exports.iter().any(|e| e.export_matches(declared)) {
            violations.push(Violation::MissingExport(declared.raw.clone()));
        }
    }
    violations
}

/// Reads a component file and checks it; the error names the file, the world
/// and every violation, one per line.
pub fn check_file(wasm: &Path, world: &WorldSurface) -> Result<ComponentSurface> {
    let bytes = std::fs::read(wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let surface = read_component(&bytes).with_context(|| format!("{}", wasm.display()))?;
    let violations = check(&surface, world);
    if !violations.is_empty() {
        let list: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
        return Err(anyhow!(
            "{} does not fit the WIT world `{}`:\n{}",
            wasm.display(),
            world.name,
            list.join("\n")
        ));
    }
    Ok(surface)
}

/// A component crate of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentCrate {
    /// The package name from its `Cargo.toml`, e.g. `task-api`.
    pub name: String,
    /// Its directory, e.g. `<root>/components/task-api`.
    pub dir: PathBuf,
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/wit-check sits two levels below the repository root")
        .to_path_buf()
}

/// Every crate under `<root>/components/*/Cargo.toml`, sorted by name.
pub fn discover_components(root: &Path) -> Result<Vec<ComponentCrate>> {
    let dir = root.join("components");
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let name = package_name(&text)
            .ok_or_else(|| anyhow!("no [package] name in {}", manifest.display()))?;
        found.push(ComponentCrate { name, dir: path });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The `name` of the `[package]` table of a manifest (a line-based reader:
/// enough for the manifests in this repository, no TOML parser needed).
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "name" {
                return Some(value.trim().trim_matches('"').to_string());
            }
        }
    }
    None
}

/// The cargo target directory: `$CARGO_TARGET_DIR` (relative to `root` if
/// relative), else `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Where `cargo build --target wasm32-wasip2 --release` puts a crate's
/// component: `task-api` → `<target>/wasm32-wasip2/release/task_api.wasm`.
pub fn wasm_path(target_dir: &Path, crate_name: &str) -> PathBuf {
    target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
}

/// A source file that changed after `wasm` was built, if any: read from the
/// dep-info file cargo writes beside it (`task_api.d`), which lists every
/// source the component was built from. `None` when there is no dep-info.
pub fn newer_source(wasm: &Path) -> Option<PathBuf> {
    let built = std::fs::metadata(wasm).and_then(|m| m.modified()).ok()?;
    let dep_info = std::fs::read_to_string(wasm.with_extension("d")).ok()?;
    dep_info_sources(&dep_info).into_iter().find(|source| {
        std::fs::metadata(source)
            .and_then(|m| m.modified())
            .is_ok_and(|changed| changed > built)
    })
}

/// The prerequisites of every rule in a Makefile-style dep-info file
/// (`target: src1 src2`, spaces in paths escaped as `\ `).
fn dep_info_sources(dep_info: &str) -> Vec<PathBuf> {
    let mut sources = Vec::new();
    for line in dep_info.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => current.extend(chars.next()),
                ' ' => {
                    if !current.is_empty() {
                        sources.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            sources.push(PathBuf::from(current));
        }
    }
    sources
}

#[cfg(test)]
mod tests;
