//! The one typed parser of each file that describes how the Todo
//! application runs, shared by every tool that reads them, so that two tools
//! can never disagree about one file.
//!
//! - [`spin_toml`] — the Spin application manifest (`spin.toml`, manifest
//!   version 2), parsed as strictly as Spin 3 parses it: the model
//!   ([`spin_toml::Manifest`] and its parts), and in its submodules `load`
//!   (reading and validating the TOML) and `template` (the `{{ var }}`
//!   templates of `allowed_outbound_hosts`).
//! - [`dapr_yaml`] — the Dapr multi-app run file (`dapr.yaml`,
//!   [`dapr_yaml::RunFile`]): the apps with their app-ids, directories,
//!   commands and ports, and the resources they load.
//!
//! Who reads them: `crates/devstack` runs the components `spin.toml` names
//! and takes its port plan from `dapr.yaml`; `crates/k8s-check` checks the
//! Kubernetes manifests and `dapr.yaml` against both. What each tool *does*
//! with a file (resolving variables at run time, checking it against the
//! cluster) stays in that tool; reading the file and rejecting a malformed
//! one happens here, once.
//!
//! The crate only parses: no runtime, no I/O beyond reading the file asked
//! for, no logging (what deserves a warning is returned as data, see
//! [`spin_toml::Manifest::warnings`]).

pub mod dapr_yaml;
pub mod spin_toml;
