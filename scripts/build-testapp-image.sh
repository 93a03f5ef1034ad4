#!/usr/bin/env bash
# Builds the ecsim-testapp Docker image offline: a statically linked release binary (glibc with
# crt-static, for the host's own target triple) in a FROM scratch image.
# Usage: scripts/build-testapp-image.sh [IMAGE]   (default ecsim-testapp:latest)
# Prints the image name on stdout when done; progress goes to stderr.
set -euo pipefail
image="${1:-ecsim-testapp:latest}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

host="$(rustc -vV | sed -n 's/^host: //p')"
[ -n "$host" ] || { echo "cannot find the host target triple in 'rustc -vV'" >&2; exit 1; }

# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (which cannot be static).
# A target directory of its own keeps this build from waiting on (or invalidating) the workspace
# build that runs the tests which call this script. Debug info is dropped and symbols stripped:
# the image only needs the program.
exe="$(
  RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release -p ecsim-testapp --target "$host" --target-dir "$root/target/testapp" \
      --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\/ecsim-testapp\)".*/\1/p' | tail -n 1
)"
[ -n "$exe" ] && [ -x "$exe" ] || { echo "cargo did not report the ecsim-testapp executable" >&2; exit 1; }
if command -v readelf >/dev/null && readelf -l "$exe" | grep -q 'Requesting program interpreter'; then
  echo "$exe is dynamically linked; a FROM scratch image needs a static binary" >&2
  exit 1
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$exe" "$ctx/ecsim-testapp"
cp docker/testapp/Dockerfile "$ctx/Dockerfile"

build() { docker build -t "$image" "$ctx" >&2; }
if [ -n "${DOCKER_BUILDKIT:-}" ]; then
  build # the caller chose the builder
elif ! docker buildx version >/dev/null 2>&1; then
  DOCKER_BUILDKIT=0 build # no buildx plugin: BuildKit cannot work, use the classic builder
elif ! build; then
  echo "BuildKit build failed; retrying with the classic builder (DOCKER_BUILDKIT=0)" >&2
  DOCKER_BUILDKIT=0 build
fi
echo "$image"
