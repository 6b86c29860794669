//! The app plan of a Dapr multi-app run file (`dapr.yaml`): which app-id
//! listens on which port and which port its sidecar has. `devstack sidecars`
//! honours it so that `scripts/dev --spin` and `dapr run -f dapr.yaml` wire
//! the apps identically.
//!
//! The file is read by `app_files::dapr_yaml`, the parser k8s-check uses
//! too; what is devstack's is the plan: every app must name both ports,
//! since devstack cannot pick them (`spin up` was told them).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::{bail, Context, Result};
use app_files::dapr_yaml::RunFile;

/// One app of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedApp {
    pub app_id: String,
    /// Where the app listens.
    pub app: SocketAddr,
    /// The sidecar's HTTP port (the app's `DAPR_HTTP_PORT`).
    pub sidecar_port: u16,
}

/// Reads the plan from a `dapr.yaml`; every app needs `appPort` and
/// `daprHTTPPort` (devstack cannot pick them: `spin up` was told them).
pub fn load(path: &Path) -> Result<Vec<PlannedApp>> {
    let file = RunFile::load(path)?;
    plan(&file).with_context(|| format!("in {}", path.display()))
}

/// [`load`] on run-file text.
pub fn parse(text: &str) -> Result<Vec<PlannedApp>> {
    plan(&RunFile::parse(text)?)
}

fn plan(file: &RunFile) -> Result<Vec<PlannedApp>> {
    let mut plan = Vec::new();
    for app in &file.apps {
        let (Some(app_port), Some(sidecar_port)) = (app.app_port, app.dapr_http_port) else {
            bail!("app {} needs both appPort and daprHTTPPort", app.app_id);
        };
        plan.push(PlannedApp {
            app: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), app_port),
            app_id: app.app_id.clone(),
            sidecar_port,
        });
    }
    Ok(plan)
}

/// Parses `ID=HOST:PORT@SIDECAR_PORT` (the `--app` flag).
pub fn parse_app_flag(flag: &str) -> Result<PlannedApp> {
    let usage = || {
        format!(
            "--app {flag:?}: expected ID=HOST:PORT@SIDECAR_PORT, e.g. task-api=127.0.0.1:3101@3501"
        )
    };
    let (app_id, rest) = flag.split_once('=').with_context(usage)?;
    let (addr, sidecar) = rest.split_once('@').with_context(usage)?;
    Ok(PlannedApp {
        app_id: app_id.trim().to_string(),
        app: addr.trim().parse().with_context(usage)?,
        sidecar_port: sidecar.trim().parse().with_context(usage)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_from_a_multi_app_run_file() {
        let plan = parse(
            "version: 1\ncommon:\n  resourcesPath: ./dapr/local\napps:\n  - appID: task-api\n    appDirPath: .\n    appPort: 3101\n    daprHTTPPort: 3501\n    command: [spin, up]\n",
        )
        .unwrap();
        assert_eq!(
            plan,
            vec![PlannedApp {
                app_id: "task-api".into(),
                app: "127.0.0.1:3101".parse().unwrap(),
                sidecar_port: 3501
            }]
        );
    }

    #[test]
    fn an_app_without_ports_is_an_error() {
        let err = parse("apps:\n  - appID: audit\n    appPort: 3102\n").unwrap_err();
        assert!(err.to_string().contains("audit"), "{err}");
    }

    #[test]
    fn parses_the_app_flag() {
        let app = parse_app_flag("audit=127.0.0.1:3102@3502").unwrap();
        assert_eq!(app.app_id, "audit");
        assert_eq!(app.sidecar_port, 3502);
        assert!(parse_app_flag("audit=127.0.0.1:3102").is_err());
    }
}
