//! Tests of the checker itself, on components built here with wasm-encoder,
//! so that it provably fails on what it must reject.

use super::*;
use wasm_encoder::{
    Component, ComponentExportKind, ComponentExportSection, ComponentImportSection,
    ComponentInstanceSection, ComponentTypeRef, ComponentTypeSection, InstanceType, Module,
    ModuleSection, NestedComponentSection,
};

/// What a spin-sdk 5.2 `#[http_component]` built for wasm32-wasip2 imports
/// and exports (read from one with `read_component`; one that uses
/// `std::fs` also imports wasi:filesystem/types and /preopens).
const SPIN_SDK_5_2_IMPORTS: &[&str] = &[
    "wasi:io/poll@0.2.6",
    "wasi:clocks/monotonic-clock@0.2.6",
    "wasi:io/error@0.2.6",
    "wasi:io/streams@0.2.6",
    "wasi:http/types@0.2.6",
    "wasi:http/outgoing-handler@0.2.6",
    "wasi:cli/environment@0.2.6",
    "wasi:cli/exit@0.2.6",
    "wasi:cli/stdin@0.2.6",
    "wasi:cli/stdout@0.2.6",
    "wasi:cli/stderr@0.2.6",
    "wasi:cli/terminal-input@0.2.6",
    "wasi:cli/terminal-output@0.2.6",
    "wasi:cli/terminal-stdin@0.2.6",
    "wasi:cli/terminal-stdout@0.2.6",
    "wasi:cli/terminal-stderr@0.2.6",
    "wasi:clocks/wall-clock@0.2.6",
    "wasi:random/random@0.2.6",
    "wasi:random/insecure-seed@0.2.6",
];
const SPIN_SDK_5_2_EXPORT: &str = "wasi:http/incoming-handler@0.2.0";

/// A valid component importing each name as an (empty) instance and
/// exporting one empty instance under each export name: the same shape, at
/// the top level, as what wit-component emits.
fn component(imports: &[&str], exports: &[&str]) -> Vec<u8> {
    component_with(imports, exports, |_| {})
}

fn component_with(
    imports: &[&str],
    exports: &[&str],
    extra: impl FnOnce(&mut Component),
) -> Vec<u8> {
    let mut c = Component::new();
    let mut types = ComponentTypeSection::new();
    types.instance(&InstanceType::new());
    c.section(&types);
    extra(&mut c);
    if !imports.is_empty() {
        let mut section = ComponentImportSection::new();
        for name in imports {
            section.import(name, ComponentTypeRef::Instance(0));
        }
        c.section(&section);
    }
    if !exports.is_empty() {
        let mut instances = ComponentInstanceSection::new();
        instances.export_items(Vec::<(&str, ComponentExportKind, u32)>::new());
        c.section(&instances);
        let mut section = ComponentExportSection::new();
        for name in exports {
            section.export(
                name,
                ComponentExportKind::Instance,
                imports.len() as u32,
                None,
            );
        }
        c.section(&section);
    }
    let bytes = c.finish();
    wasmparser::Validator::new()
        .validate_all(&bytes)
        .expect("the test component is valid");
    bytes
}

fn world() -> WorldSurface {
    load_world(&repo_root().join("wit"), WORLD).expect("wit/ resolves")
}

fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wit-check-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn parses_interface_and_plain_names() {
    let n = ItemName::parse("wasi:http/outgoing-handler@0.2.6");
    assert_eq!(n.package.as_deref(), Some("wasi:http"));
    assert_eq!(n.interface, "outgoing-handler");
    assert_eq!(n.version, Some(Version::new(0, 2, 6)));
    assert_eq!(n.to_string(), "wasi:http/outgoing-handler@0.2.6");

    let n = ItemName::parse("fermyon:spin/variables");
    assert_eq!(n.package.as_deref(), Some("fermyon:spin"));
    assert_eq!(n.version, None);

    let n = ItemName::parse("run");
    assert_eq!(n.package, None);
    assert_eq!(n.interface, "run");
}

#[test]
fn imports_match_older_patches_on_the_same_track_only() {
    let world = ItemName::parse("wasi:io/streams@0.2.6");
    let ok = |s: &str| ItemName::parse(s).import_satisfied_by(&world);
    assert!(ok("wasi:io/streams@0.2.6"));
    assert!(ok("wasi:io/streams@0.2.0"));
    assert!(ok("wasi:io/streams@0.2.3"));
    assert!(!ok("wasi:io/streams@0.2.7"), "newer than the world");
    assert!(!ok("wasi:io/streams@0.3.0"), "another 0.x track");
    assert!(!ok("wasi:io/streams@0.3.0-rc-2026-01-06"), "pre-release");
    assert!(!ok("wasi:io/streams"), "unversioned");
    assert!(!ok("wasi:io/poll@0.2.6"), "another interface");
    assert!(!ok("wasix:io/streams@0.2.6"), "another package");

    let one = ItemName::parse("a:b/c@1.4.0");
    assert!(ItemName::parse("a:b/c@1.0.9").import_satisfied_by(&one));
    assert!(!ItemName::parse("a:b/c@2.0.0").import_satisfied_by(&one));
    let zero = ItemName::parse("a:b/c@0.0.3");
    assert!(!ItemName::parse("a:b/c@0.0.2").import_satisfied_by(&zero));
}

#[test]
fn exports_match_any_patch_on_the_same_track() {
    let world = ItemName::parse("wasi:http/incoming-handler@0.2.6");
    assert!(ItemName::parse("wasi:http/incoming-handler@0.2.0").export_matches(&world));
    assert!(ItemName::parse("wasi:http/incoming-handler@0.2.9").export_matches(&world));
    assert!(!ItemName::parse("wasi:http/incoming-handler@0.3.0").export_matches(&world));
    assert!(!ItemName::parse("wasi:http/handler@0.2.6").export_matches(&world));
}

#[test]
fn the_world_allows_wasi_http_cli_clocks_random_and_nothing_else() {
    let world = world();
    let imports: Vec<&str> = world.imports.iter().map(|n| n.raw.as_str()).collect();
    for required in [
        "wasi:http/outgoing-handler@0.2.6",
        "wasi:http/types@0.2.6",
        "wasi:io/streams@0.2.6",
        "wasi:cli/environment@0.2.6",
        "wasi:clocks/wall-clock@0.2.6",
        "wasi:random/random@0.2.6",
    ] {
        assert!(
            imports.contains(&required),
            "{required} missing from {imports:?}"
        );
    }
    for name in &world.imports {
        let pkg = name.package.as_deref().unwrap_or_default();
        assert!(
            [
                "wasi:http",
                "wasi:io",
                "wasi:cli",
                "wasi:clocks",
                "wasi:random"
            ]
            .contains(&pkg),
            "unexpected import {name} in the world"
        );
    }
    let exports: Vec<&str> = world.exports.iter().map(|n| n.raw.as_str()).collect();
    assert_eq!(exports, ["wasi:http/incoming-handler@0.2.6"]);
}

#[test]
fn a_spin_sdk_5_2_component_fits() {
    let bytes = component(SPIN_SDK_5_2_IMPORTS, &[SPIN_SDK_5_2_EXPORT]);
    let surface = read_component(&bytes).unwrap();
    assert_eq!(surface.imports, SPIN_SDK_5_2_IMPORTS);
    assert_eq!(surface.exports, [SPIN_SDK_5_2_EXPORT]);
    assert_eq!(check(&surface, &world()), []);

    // Older patches of the same interfaces fit as well.
    let bytes = component(
        &["wasi:io/error@0.2.0", "wasi:http/outgoing-handler@0.2.3"],
        &["wasi:http/incoming-handler@0.2.0"],
    );
    assert_eq!(check(&read_component(&bytes).unwrap(), &world()), []);
}

#[test]
fn a_spin_host_interface_is_rejected_by_name() {
    let mut imports = SPIN_SDK_5_2_IMPORTS.to_vec();
    imports.push("fermyon:spin/variables@2.0.0");
    let bytes = component(&imports, &[SPIN_SDK_5_2_EXPORT]);
    let surface = read_component(&bytes).unwrap();
    assert_eq!(
        check(&surface, &world()),
        [Violation::Import("fermyon:spin/variables@2.0.0".into())]
    );

    let path = write_temp("spin-variables.wasm", &bytes);
    let err = check_file(&path, &world()).unwrap_err().to_string();
    assert!(err.contains("fermyon:spin/variables@2.0.0"), "{err}");
    assert!(err.contains("todo-component"), "{err}");
    assert!(err.contains("spin-variables.wasm"), "{err}");
}

#[test]
fn every_offending_import_is_named() {
    let bytes = component(
        &[
            "wasi:http/outgoing-handler@0.2.6",
            "wasi:filesystem/preopens@0.2.6",
            "spin:postgres/postgres@4.0.0",
            "wasi:http/types@0.2.7",
            "wasi:keyvalue/store@0.2.0-draft2",
        ],
        &[SPIN_SDK_5_2_EXPORT],
    );
    let violations = check(&read_component(&bytes).unwrap(), &world());
    assert_eq!(
        violations,
        [
            Violation::Import("wasi:filesystem/preopens@0.2.6".into()),
            Violation::Import("spin:postgres/postgres@4.0.0".into()),
            Violation::Import("wasi:http/types@0.2.7".into()),
            Violation::Import("wasi:keyvalue/store@0.2.0-draft2".into()),
        ]
    );
}

#[test]
fn a_missing_or_foreign_export_is_rejected() {
    let bytes = component(SPIN_SDK_5_2_IMPORTS, &[]);
    let path = write_temp("no-handler.wasm", &bytes);
    let err = check_file(&path, &world()).unwrap_err().to_string();
    assert!(
        err.contains("does not export `wasi:http/incoming-handler@0.2.6`"),
        "{err}"
    );

    let bytes = component(&[], &["wasi:cli/run@0.2.6"]);
    assert_eq!(
        check(&read_component(&bytes).unwrap(), &world()),
        [
            Violation::Export("wasi:cli/run@0.2.6".into()),
            Violation::MissingExport("wasi:http/incoming-handler@0.2.6".into()),
        ]
    );
}

#[test]
fn only_top_level_imports_count() {
    let mut inner = Component::new();
    let mut types = ComponentTypeSection::new();
    types.instance(&InstanceType::new());
    inner.section(&types);
    let mut imports = ComponentImportSection::new();
    imports.import(
        "fermyon:spin/variables@2.0.0",
        ComponentTypeRef::Instance(0),
    );
    inner.section(&imports);

    let bytes = component_with(&["wasi:io/error@0.2.6"], &[SPIN_SDK_5_2_EXPORT], |c| {
        c.section(&ModuleSection(&Module::new()));
        c.section(&NestedComponentSection(&inner));
    });
    let surface = read_component(&bytes).unwrap();
    assert_eq!(surface.imports, ["wasi:io/error@0.2.6"]);
    assert_eq!(surface.exports, [SPIN_SDK_5_2_EXPORT]);
}

#[test]
fn a_core_module_or_garbage_is_an_error() {
    let core = Module::new().finish();
    let err = read_component(&core).unwrap_err().to_string();
    assert!(err.contains("core WebAssembly module"), "{err}");
    assert!(read_component(b"not wasm").is_err());
}

#[test]
fn reads_package_names_and_maps_them_to_wasm_files() {
    let manifest =
        "[package]\nname = \"task-api\"\nversion = \"0.1.0\"\n\n[dependencies]\nname = \"x\"\n";
    assert_eq!(package_name(manifest).as_deref(), Some("task-api"));
    assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
    assert_eq!(
        wasm_path(Path::new("/r/target"), "task-api"),
        Path::new("/r/target/wasm32-wasip2/release/task_api.wasm")
    );
}

#[test]
fn discovers_the_component_crates() {
    let components = discover_components(&repo_root()).unwrap();
    assert!(
        components.iter().any(|c| c.name == "task-api"),
        "{components:?}"
    );
}

#[test]
fn reads_dep_info_sources() {
    let dep_info = "/t/x.wasm: /s/a.rs /s/my\\ dir/b.rs\n\n/s/a.rs:\n/t/libx.rlib: /s/c.rs\n";
    assert_eq!(
        dep_info_sources(dep_info),
        [
            PathBuf::from("/s/a.rs"),
            PathBuf::from("/s/my dir/b.rs"),
            PathBuf::from("/s/c.rs"),
        ]
    );
}

#[test]
fn finds_a_source_newer_than_the_component() {
    let wasm = write_temp("stale.wasm", &component(&[], &[]));
    let source = wasm.with_file_name("stale-src.rs");
    std::fs::write(&source, "").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&wasm)
        .unwrap()
        .set_modified(old)
        .unwrap();
    std::fs::write(
        wasm.with_extension("d"),
        format!("{}: {}\n", wasm.display(), source.display()),
    )
    .unwrap();
    assert_eq!(newer_source(&wasm), Some(source.clone()));

    std::fs::File::options()
        .write(true)
        .open(&source)
        .unwrap()
        .set_modified(old - std::time::Duration::from_secs(60))
        .unwrap();
    assert_eq!(newer_source(&wasm), None);
}
