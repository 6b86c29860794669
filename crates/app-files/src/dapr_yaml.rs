//! The Dapr multi-app run file (`dapr.yaml`, what `dapr run -f` reads).
//!
//! Why it exists: devstack takes its port plan from this file (`devstack
//! plan`, `devstack sidecars`, so `scripts/dev --spin` wires the apps as
//! `dapr run -f dapr.yaml` does) and k8s-check checks it against spin.toml
//! and the cluster's resources. Both read it through [`RunFile`], so they
//! cannot disagree about what the file says.
//!
//! The shape follows the Dapr CLI's run-file types
//! (`dapr/cli`: `pkg/runfileconfig`, `pkg/standalone/run.go`): `version`,
//! `common` (settings every app inherits) and `apps`. Only the fields the
//! tools read are modelled; the CLI ignores fields it does not know and so
//! does this parser (the file carries settings no tool here reads, such as
//! `daprdLogDestination`). What is modelled is typed: a port that is not a
//! number in 0..=65535, a command that is not a list of strings or an app
//! without `appID` is an error naming the field, and a key given twice
//! anywhere is an error. Whether the values make sense together (the ports
//! a tool needs, distinct ports, commands that match spin.toml) is for the
//! tools to check.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;

/// A parsed `dapr.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFile {
    /// `version` (the Dapr CLI knows `1`).
    #[serde(default)]
    pub version: Option<i64>,
    /// `common`: what every app inherits unless it sets its own.
    #[serde(default)]
    pub common: Common,
    /// `apps`, in file order.
    pub apps: Vec<App>,
}

/// `common`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    /// `resourcesPaths`: directories daprd loads resources from (the YAML
    /// files directly in each, not below).
    #[serde(default)]
    pub resources_paths: Vec<String>,
    /// `configFilePath`: the Dapr Configuration every sidecar uses.
    #[serde(default)]
    pub config_file_path: Option<String>,
    /// `appProtocol` for apps that do not set one.
    #[serde(default)]
    pub app_protocol: Option<String>,
}

/// One entry of `apps`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// `appID`.
    #[serde(rename = "appID")]
    pub app_id: String,
    /// `appDirPath`: the directory the command runs in, relative to the
    /// run file.
    #[serde(default)]
    pub app_dir_path: Option<String>,
    /// `appPort`: where the app listens (unset: daprd does not call it).
    #[serde(default)]
    pub app_port: Option<u16>,
    /// `daprHTTPPort`: the sidecar's HTTP port (unset: a random port).
    #[serde(default, rename = "daprHTTPPort")]
    pub dapr_http_port: Option<u16>,
    /// `daprGRPCPort` (unset: a random port).
    #[serde(default, rename = "daprGRPCPort")]
    pub dapr_grpc_port: Option<u16>,
    /// `daprInternalGRPCPort` (unset: a random port).
    #[serde(default, rename = "daprInternalGRPCPort")]
    pub dapr_internal_grpc_port: Option<u16>,
    /// `metricsPort` (unset: a random port).
    #[serde(default)]
    pub metrics_port: Option<u16>,
    /// `appProtocol` (else `common.appProtocol`, else `http`).
    #[serde(default)]
    pub app_protocol: Option<String>,
    /// `command`: the app's command line, one argument per item.
    #[serde(default)]
    pub command: Vec<String>,
}

impl App {
    /// The five ports, by their field name in the file, in file order.
    pub fn ports(&self) -> [(&'static str, Option<u16>); 5] {
        [
            ("appPort", self.app_port),
            ("daprHTTPPort", self.dapr_http_port),
            ("daprGRPCPort", self.dapr_grpc_port),
            ("daprInternalGRPCPort", self.dapr_internal_grpc_port),
            ("metricsPort", self.metrics_port),
        ]
    }
}

impl RunFile {
    /// Reads and parses a run file; errors name the file.
    pub fn load(path: &Path) -> Result<RunFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses run-file text (one YAML document).
    pub fn parse(text: &str) -> Result<RunFile> {
        // Untyped first: it refuses a key given twice anywhere (also among
        // the fields not modelled), which the typed pass would let through.
        serde_yaml::from_str::<serde_yaml::Value>(text)
            .map_err(|e| anyhow!("not a Dapr run file: {e}"))?;
        serde_yaml::from_str(text).map_err(|e| anyhow!("not a Dapr run file: {e}"))
    }

    /// The protocol daprd uses to call `app`: its own `appProtocol`, else
    /// `common.appProtocol`, else `http` (the Dapr CLI's default).
    pub fn app_protocol<'a>(&'a self, app: &'a App) -> &'a str {
        app.app_protocol
            .as_deref()
            .or(self.common.app_protocol.as_deref())
            .unwrap_or("http")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
version: 1
common:
  resourcesPaths:
    - ./dapr/local
  configFilePath: ./dapr/local/config.yaml
  appProtocol: http
  daprdLogDestination: console
apps:
  - appID: task-api
    appDirPath: .
    appPort: 3101
    daprHTTPPort: 3501
    daprGRPCPort: 50101
    daprInternalGRPCPort: 50201
    metricsPort: 9101
    command: [spin, up, --component-id, task-api]
  - appID: audit
    appProtocol: grpc
";

    fn refused(text: &str) -> String {
        match RunFile::parse(text) {
            Ok(f) => panic!("accepted: {f:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn reads_a_good_file() {
        let f = RunFile::parse(GOOD).unwrap();
        assert_eq!(f.version, Some(1));
        assert_eq!(f.common.resources_paths, vec!["./dapr/local"]);
        assert_eq!(
            f.common.config_file_path.as_deref(),
            Some("./dapr/local/config.yaml")
        );
        let api = &f.apps[0];
        assert_eq!(api.app_id, "task-api");
        assert_eq!(api.app_dir_path.as_deref(), Some("."));
        assert_eq!(
            api.ports(),
            [
                ("appPort", Some(3101)),
                ("daprHTTPPort", Some(3501)),
                ("daprGRPCPort", Some(50101)),
                ("daprInternalGRPCPort", Some(50201)),
                ("metricsPort", Some(9101)),
            ]
        );
        assert_eq!(api.command, ["spin", "up", "--component-id", "task-api"]);
        assert_eq!(f.app_protocol(api), "http");
        let audit = &f.apps[1];
        assert_eq!(audit.app_port, None);
        assert!(audit.command.is_empty());
        assert_eq!(f.app_protocol(audit), "grpc");
    }

    #[test]
    fn defaults_when_common_is_absent() {
        let f = RunFile::parse("apps:\n  - appID: a\n").unwrap();
        assert_eq!(f.version, None);
        assert_eq!(f.common, Common::default());
        assert_eq!(f.app_protocol(&f.apps[0]), "http");
    }

    #[test]
    fn the_repository_run_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dapr.yaml");
        let f = RunFile::load(&path).unwrap();
        assert_eq!(f.version, Some(1));
        assert!(f.apps.iter().any(|a| a.app_id == "task-api"));
        for a in &f.apps {
            assert!(a.ports().iter().all(|(_, p)| p.is_some()), "{a:?}");
        }
    }

    #[test]
    fn an_unreadable_file_names_it() {
        let e = format!(
            "{:#}",
            RunFile::load(Path::new("/nonexistent/dapr.yaml")).unwrap_err()
        );
        assert!(e.contains("/nonexistent/dapr.yaml"), "{e}");
    }

    #[test]
    fn not_yaml() {
        let e = refused("apps: [\n");
        assert!(e.contains("not a Dapr run file"), "{e}");
        let e = refused("version: 1\n---\napps: []\n");
        assert!(e.contains("more than one document"), "{e}");
    }

    #[test]
    fn missing_fields() {
        let e = refused("version: 1\n");
        assert!(e.contains("missing field `apps`"), "{e}");
        let e = refused("apps:\n  - appPort: 3001\n");
        assert!(e.contains("apps[0]") && e.contains("`appID`"), "{e}");
    }

    #[test]
    fn mistyped_fields_name_the_field() {
        for (text, field) in [
            (
                "apps:\n  - appID: a\n    appPort: 70000\n",
                "apps[0].appPort",
            ),
            (
                "apps:\n  - appID: a\n    daprHTTPPort: -1\n",
                "apps[0].daprHTTPPort",
            ),
            (
                "apps:\n  - appID: a\n    metricsPort: x\n",
                "apps[0].metricsPort",
            ),
            (
                "apps:\n  - appID: a\n    command: spin up\n",
                "apps[0].command",
            ),
            (
                "apps:\n  - appID: a\n    command: [spin, [up]]\n",
                "apps[0].command[1]",
            ),
            ("apps:\n  - appID: [a]\n", "apps[0].appID"),
            (
                "common:\n  resourcesPaths: ./x\napps: []\n",
                "common.resourcesPaths",
            ),
            ("version: one\napps: []\n", "version"),
            ("apps: {}\n", "apps"),
        ] {
            let e = refused(text);
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn a_key_given_twice_is_an_error() {
        let e = refused("apps:\n  - appID: a\n    appPort: 1\n    appPort: 2\n");
        assert!(e.contains("appPort"), "{e}");
        // Also among fields no tool reads.
        let e = refused("common:\n  daprdLogDestination: a\n  daprdLogDestination: b\napps: []\n");
        assert!(e.contains("daprdLogDestination"), "{e}");
    }
}
