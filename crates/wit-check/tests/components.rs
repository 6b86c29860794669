//! Every component crate under `components/` has been built for
//! wasm32-wasip2 and fits the WIT world `todo-component` in `wit/`.
//!
//! A missing `.wasm` fails the test rather than skipping it: a component that
//! was never checked must not pass as one that fits. So does one older than
//! its sources (per cargo's dep-info file): it is not the code being tested.

use wit_check::{
    check_file, discover_components, load_world, newer_source, repo_root, target_dir, wasm_path,
    WORLD,
};

#[test]
fn every_component_fits_the_wit_world() {
    let root = repo_root();
    let world = load_world(&root.join("wit"), WORLD).expect("wit/ resolves");
    let components = discover_components(&root).expect("components/ is readable");
    assert!(
        !components.is_empty(),
        "no component crates found under {}",
        root.join("components").display()
    );

    let target = target_dir(&root);
    let mut failures = Vec::new();
    for component in &components {
        let wasm = wasm_path(&target, &component.name);
        if !wasm.is_file() {
            failures.push(format!(
                "{}: no built component at {}; run `scripts/test` (or `cargo build --target wasm32-wasip2 --release -p {}`) first",
                component.name,
                wasm.display(),
                component.name
            ));
            continue;
        }
        if let Some(source) = newer_source(&wasm) {
            failures.push(format!(
                "{}: {} is older than {}; rebuild it with `scripts/test` (or `cargo build --target wasm32-wasip2 --release -p {}`)",
                component.name,
                wasm.display(),
                source.display(),
                component.name
            ));
            continue;
        }
        match check_file(&wasm, &world) {
            Ok(surface) => println!(
                "{} fits `{WORLD}`: {} imports, exports {}",
                component.name,
                surface.imports.len(),
                surface.exports.join(", ")
            ),
            Err(err) => failures.push(format!("{}: {err:#}", component.name)),
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
}
