#!/usr/bin/env bash
# Builds the ecsim Docker image offline: a statically linked release binary (glibc with
# crt-static, for the host's own target triple) in a FROM scratch image.
# Usage: scripts/build-ecsim-image.sh [IMAGE]   (default ecsim:latest)
set -euo pipefail
image="${1:-ecsim:latest}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

host="$(rustc -vV | sed -n 's/^host: //p')"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros; a target directory of
# its own keeps the static artifacts apart from the normal build.
RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=symbols \
  cargo build --release --bin ecsim --target "$host" --target-dir "$root/target/image" >&2
exe="$root/target/image/$host/release/ecsim"
if command -v readelf >/dev/null && readelf -l "$exe" | grep -q 'Requesting program interpreter'; then
  echo "$exe is dynamically linked; a FROM scratch image needs a static binary" >&2
  exit 1
fi
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$exe" "$ctx/ecsim"
cp docker/ecsim/Dockerfile "$ctx/Dockerfile"
if docker buildx version >/dev/null 2>&1; then
  docker build -t "$image" "$ctx" >&2
else
  DOCKER_BUILDKIT=0 docker build -t "$image" "$ctx" >&2
fi
echo "$image"
