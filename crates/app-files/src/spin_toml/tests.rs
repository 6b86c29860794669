//! The parser on a good manifest, on the repository's own, and on one
//! example of each class of bad input, each error naming the file and the
//! offending field.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::*;

fn parse(text: &str) -> Result<Manifest> {
    Manifest::parse(text, Path::new("/app/spin.toml"))
}

/// The error `text` is refused with.
fn refused(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => format!("{e:#}"),
    }
}

/// Asserts that `BASIC` with `from` replaced by `to` is refused with an
/// error naming the file and containing every one of `expect`.
#[track_caller]
fn assert_refused(from: &str, to: &str, expect: &[&str]) {
    assert!(BASIC.contains(from), "BASIC has no {from:?}");
    let e = refused(&BASIC.replacen(from, to, 1));
    assert!(e.contains("/app/spin.toml"), "no file name in: {e}");
    for want in expect {
        assert!(e.contains(want), "{want:?} not in: {e}");
    }
}

const BASIC: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
port = { default = "3500" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.http]]
route = { private = true }
component = "api"
[[trigger.http]]
id = "health"
route = "/healthz"
component = "api"
executor = { type = "http" }
[component.api]
source = "target/api.wasm"
allowed_outbound_hosts = ["http://localhost:{{ port }}", "https://*.example.com"]
environment = { A = "1" }
[component.api.build]
command = "cargo build"
workdir = "api"
"#;

#[test]
fn loads_the_basics() {
    let m = parse(BASIC).unwrap();
    assert_eq!(m.application.name, "demo");
    assert_eq!(m.base_dir, PathBuf::from("/app"));
    assert_eq!(m.http_triggers.len(), 3);
    assert_eq!(m.http_triggers[0].route, Route::Path("/api/...".into()));
    assert_eq!(m.http_triggers[1].route, Route::Private);
    assert_eq!(m.http_triggers[2].id.as_deref(), Some("health"));
    assert!(m.other_triggers.is_empty());
    assert!(m.variables["token"].required && m.variables["token"].secret);
    assert_eq!(m.variables["port"].default.as_deref(), Some("3500"));
    let api = m.component("api").unwrap();
    assert_eq!(
        api.source_path(&m.base_dir).unwrap(),
        PathBuf::from("/app/target/api.wasm")
    );
    let build = api.build.as_ref().unwrap();
    assert_eq!(build.command.list(), vec!["cargo build"]);
    assert_eq!(build.workdir.as_deref(), Some("api"));
    assert_eq!(api.environment["A"], "1");
    assert_eq!(
        api.allowed_outbound_hosts,
        vec!["http://localhost:{{ port }}", "https://*.example.com"]
    );
    assert_eq!(
        m.routes_of("api").collect::<Vec<_>>(),
        vec![
            &Route::Path("/api/...".into()),
            &Route::Private,
            &Route::Path("/healthz".into())
        ]
    );
    assert!(m.warnings().is_empty());
    let e = m.component("apx").unwrap_err().to_string();
    assert!(
        e.contains("\"apx\"") && e.contains("components: api"),
        "{e}"
    );
}

#[test]
fn build_commands_may_be_a_list() {
    let m = parse(&BASIC.replace(
        "command = \"cargo build\"",
        "command = [\"npm ci\", \"cargo build\"]",
    ))
    .unwrap();
    let build = m.components["api"].build.as_ref().unwrap();
    assert_eq!(build.command.list(), vec!["npm ci", "cargo build"]);
}

#[test]
fn unused_spin_features_parse_and_other_triggers_are_counted() {
    let m = parse(&format!(
        "{BASIC}\n[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"api\"\n\
         [component.remote]\nsource = {{ url = \"https://example.com/x.wasm\", digest = \"sha256:0\" }}\n\
         environment = {{ B = \"{{{{ port }}}}\" }}\nkey_value_stores = [\"default\"]\n"
    ))
    .unwrap();
    assert_eq!(m.other_triggers["redis"], 1);
    let remote = &m.components["remote"];
    assert!(remote.source_path(&m.base_dir).is_none());
    assert_eq!(remote.key_value_stores, vec!["default"]);
    assert_eq!(
        m.warnings(),
        vec![
            Warning::EnvironmentTemplate {
                component: "remote".into(),
                key: "B".into()
            },
            Warning::RemoteSource {
                component: "remote".into()
            },
        ]
    );
}

#[test]
fn the_repository_manifest_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
    let m = Manifest::load(&path).unwrap();
    assert!(m.components.contains_key("task-api"));
    assert!(m
        .http_triggers
        .iter()
        .any(|t| t.route == Route::Path("/api/openapi.json".into())));
    for (id, c) in &m.components {
        assert!(m.routes_of(id).next().is_some(), "{id} has no route");
        for host in &c.allowed_outbound_hosts {
            let t = Template::parse(host).unwrap();
            assert!(t.variables().all(|v| m.variables.contains_key(v)));
        }
    }
    assert!(m.warnings().is_empty(), "{:?}", m.warnings());
}

#[test]
fn an_unreadable_file_names_it() {
    let e = Manifest::load(Path::new("/nonexistent/spin.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/spin.toml"), "{e}");
}

#[test]
fn not_toml() {
    let e = refused("spin_manifest_version = 2\n[application\n");
    assert!(e.contains("invalid Spin manifest /app/spin.toml"), "{e}");
}

#[test]
fn wrong_manifest_version() {
    assert_refused(
        "spin_manifest_version = 2",
        "spin_manifest_version = 1",
        &["spin_manifest_version", "must be 2"],
    );
    assert_refused(
        "spin_manifest_version = 2",
        "spin_manifest_version = \"2\"",
        &["spin_manifest_version"],
    );
    assert_refused(
        "spin_manifest_version = 2\n",
        "",
        &["spin_manifest_version"],
    );
}

#[test]
fn unknown_fields_are_errors_at_every_level() {
    assert_refused("[application]", "colour = 1\n[application]", &["colour"]);
    assert_refused(
        "name = \"demo\"",
        "name = \"demo\"\nnmae = \"x\"",
        &["nmae"],
    );
    assert_refused(
        "port = { default = \"3500\" }",
        "port = { default = \"3500\", secrte = true }",
        &["secrte"],
    );
    assert_refused("environment =", "enviroment =", &["enviroment"]);
    assert_refused("workdir = \"api\"", "workdri = \"api\"", &["workdri"]);
    assert_refused(
        "route = \"/api/...\"",
        "route = \"/api/...\"\nroutes = \"/x\"",
        &["[[trigger.http]] #1", "routes"],
    );
}

#[test]
fn missing_and_mistyped_fields() {
    assert_refused("name = \"demo\"\n", "", &["name"]);
    assert_refused("source = \"target/api.wasm\"\n", "", &["source"]);
    assert_refused(
        "route = \"/api/...\"\n",
        "",
        &["[[trigger.http]] #1", "route"],
    );
    assert_refused("{ A = \"1\" }", "{ A = 1 }", &["environment"]);
    assert_refused("command = \"cargo build\"", "command = 7", &["command"]);
    assert_refused(
        "[\"http://localhost:{{ port }}\", \"https://*.example.com\"]",
        "\"https://example.com\"",
        &["allowed_outbound_hosts"],
    );
}

#[test]
fn variables_follow_spins_rules() {
    assert_refused(
        "port = { default",
        "Port = { default",
        &["\"Port\"", "lower-case"],
    );
    assert_refused(
        "port = { default",
        "1port = { default",
        &["\"1port\"", "start"],
    );
    assert_refused(
        "port = { default",
        "port_ = { default",
        &["\"port_\"", "end"],
    );
    assert_refused(
        "port = { default",
        "my__port = { default",
        &["\"my__port\"", "consecutive"],
    );
    assert_refused(
        "{ required = true, secret = true }",
        "{ secret = true }",
        &["token", "default"],
    );
    assert_refused(
        "{ required = true, secret = true }",
        "{ required = true, default = \"x\" }",
        &["token", "required", "default"],
    );
}

#[test]
fn component_ids_are_kebab_case() {
    for (bad, why) in [
        ("Api", "start with a lower-case"),
        ("api_x", "dashes"),
        ("api-", "dash"),
        ("a--b", "consecutive"),
    ] {
        let text = BASIC
            .replace("[component.api]", &format!("[component.{bad}]"))
            .replace("[component.api.build]", &format!("[component.{bad}.build]"))
            .replace("component = \"api\"", &format!("component = \"{bad}\""));
        let e = refused(&text);
        assert!(
            e.contains(&format!("[component.{bad}]")) && e.contains(why),
            "{bad}: {e}"
        );
    }
}

#[test]
fn outbound_hosts_and_their_templates() {
    assert_refused(
        "allowed_outbound_hosts =",
        "allowed_http_hosts = [\"example.com\"]\nallowed_outbound_hosts =",
        &["allowed_http_hosts", "deprecated", "allowed_outbound_hosts"],
    );
    assert_refused(
        "{{ port }}",
        "{{ nope }}",
        &["allowed_outbound_hosts[0]", "\"nope\"", "[variables]"],
    );
    assert_refused(
        "{{ port }}",
        "{{ port",
        &["allowed_outbound_hosts[0]", "unmatched"],
    );
}

#[test]
fn trigger_shapes() {
    assert_refused(
        "route = \"/api/...\"\ncomponent = \"api\"",
        "route = \"/api/...\"",
        &["[[trigger.http]] #1", "missing `component`"],
    );
    assert_refused(
        "component = \"api\"\n[[",
        "component = \"apx\"\n[[",
        &["[[trigger.http]] #1", "\"apx\"", "names no [component.apx]"],
    );
    assert_refused(
        "component = \"api\"\n[[",
        "component = { source = \"x.wasm\" }\n[[",
        &["inline components are not supported"],
    );
    assert_refused(
        "component = \"api\"\n[[",
        "component = 3\n[[",
        &["`component` must be a component id"],
    );
    assert_refused(
        "route = \"/api/...\"",
        "route = \"/api/...\"\ncomponents = { a = \"b\" }",
        &["`components` is reserved"],
    );
    assert_refused(
        "route = \"/api/...\"",
        "route = \"/api/...\"\nstatic_response = { status_code = 200 }",
        &["`static_response` is not supported"],
    );
    assert_refused(
        "executor = { type = \"http\" }",
        "executor = { type = \"wagi\" }",
        &["[[trigger.http]] #3", "executor", "wagi"],
    );
    assert_refused(
        "{ private = true }",
        "{ private = false }",
        &["[[trigger.http]] #2", "private = false"],
    );
    for bad in [
        "{ public = true }",
        "{ private = true, x = 1 }",
        "{ private = \"yes\" }",
    ] {
        assert_refused(
            "{ private = true }",
            bad,
            &["[[trigger.http]] #2", "route must be a string pattern"],
        );
    }
    assert_refused(
        "route = \"/api/...\"",
        "route = 7",
        &[
            "[[trigger.http]] #1",
            "route must be a string pattern",
            "has 7",
        ],
    );
}
