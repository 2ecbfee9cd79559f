#!/usr/bin/env bash
# The whole Skyglass test suite: formatting, lints and every test of every crate.
# It first installs what the tests need, and does nothing where it is already there,
# so it is safe to run on a fresh machine and on every run after.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need: STILTS, whose votlint checks the VOTables we write, and
# Mesa's software Vulkan driver (lavapipe), on which the renderer's tests draw without a GPU;
# Xvfb, a display for the app's window in the end-to-end tests; openssl, to make the
# certificate the HTTPS tests serve.
APT_PACKAGES=(stilts mesa-vulkan-drivers xvfb openssl)
# Python packages the tests need at run time: astropy reads back the VOTables and FITS we
# write, pyvo queries the archive as a TAP client, spherical_geometry (STScI) checks
# ADQL's region relations and areas, tsdownsample is the reference for LTTB and MinMaxLTTB,
# scipy is astropy's crossmatch (match_coordinates_sky) that `skyglass xmatch` is held to.
# (The committed golden values and
# reference images were made by the scripts in */tests/golden/ and
# core/render/tests/references/, which also need mocpy, astropy_healpix and Pillow.)
PYTHON_PACKAGES=(astropy astroquery pyvo scipy spherical_geometry tsdownsample)

install_apt_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return
    echo "test.sh: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

install_python_packages() {
    local missing=()
    for package in "$@"; do
        python3 -c "import $package" 2>/dev/null || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return
    echo "test.sh: installing ${missing[*]} (PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}"
}

if [ ${#APT_PACKAGES[@]} -gt 0 ]; then install_apt_packages "${APT_PACKAGES[@]}"; fi
if [ ${#PYTHON_PACKAGES[@]} -gt 0 ]; then install_python_packages "${PYTHON_PACKAGES[@]}"; fi

# A cold build of the workspace takes minutes on two cores: reuse a target directory kept
# outside the clone when there is one (the dev profile; release builds are for benchmarks).
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    shared_target="${XDG_CACHE_HOME:-$HOME/.cache}/skyglass/target"
    if [ -d "$shared_target" ]; then
        export CARGO_TARGET_DIR="$shared_target"
    fi
fi
# Mesa's Vulkan device-select layer asks a Wayland session for the default GPU and, where
# there is none (CI, a server), libwayland prints an error for each GPU context a test makes;
# the skyglass binary stands the layer aside itself, the test processes are told here.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export NODEVICE_SELECT=1
fi
# Incremental artefacts only help a developer's edit-build loop.
if [ "${CI:-}" = "true" ]; then
    export CARGO_INCREMENTAL=0
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
