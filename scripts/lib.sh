# shellcheck shell=bash
# Shared helpers for the scripts in scripts/ (source it, don't run it).
#
# Sets REPO_ROOT and provides: section, info, warn, die, component_crates,
# wasm_dir, wasm_file, ensure_rust_tooling.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

WASM_TARGET=wasm32-wasip2

# A visible header between the steps of a script.
section() {
    printf '\n==== %s ====\n' "$*"
}

info() {
    printf '%s\n' "$*"
}

warn() {
    printf 'warning: %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The package name of every crate under components/ (components/*/Cargo.toml),
# one per line, sorted. Reads the `name` of the [package] table.
component_crates() {
    local manifest
    for manifest in "$REPO_ROOT"/components/*/Cargo.toml; do
        [ -f "$manifest" ] || continue
        awk '
            /^[[:space:]]*\[/ { in_pkg = ($0 ~ /^[[:space:]]*\[package\][[:space:]]*$/); next }
            in_pkg && /^[[:space:]]*name[[:space:]]*=/ {
                sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
            }
        ' "$manifest"
    done | sort
}

# Where `cargo build --target wasm32-wasip2 --release` puts the components.
wasm_dir() {
    local target="${CARGO_TARGET_DIR:-target}"
    case "$target" in
        /*) ;;
        *) target="$REPO_ROOT/$target" ;;
    esac
    printf '%s/%s/release\n' "$target" "$WASM_TARGET"
}

# The .wasm file of a component crate: task-api -> .../task_api.wasm
wasm_file() {
    printf '%s/%s.wasm\n' "$(wasm_dir)" "${1//-/_}"
}

# Installs what building and checking needs, if it is missing: the wasm32-wasip2
# target, rustfmt and clippy (rust-toolchain.toml names them too; this makes
# it explicit and works where rustup does not install on first use).
ensure_rust_tooling() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
    if command -v rustup >/dev/null; then
        # Lists are read whole first: `grep -q` in a pipe can close it early
        # and, under pipefail, turn "found" into a failure.
        local installed
        installed="$(rustup target list --installed)"
        if ! grep -qx "$WASM_TARGET" <<<"$installed"; then
            info "installing the $WASM_TARGET target"
            rustup target add "$WASM_TARGET"
        fi
        installed="$(rustup component list --installed)"
        local component
        for component in rustfmt clippy; do
            if ! grep -q "^$component" <<<"$installed"; then
                info "installing $component"
                rustup component add "$component"
            fi
        done
    else
        warn "rustup not found: assuming the $WASM_TARGET target, rustfmt and clippy are installed"
    fi
    info "$(cargo --version)"
    info "$(rustc --version)"
}
