# Shared by scripts/run and scripts/test: Debian packages and the project venv.
# shellcheck shell=bash

apt_install() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: $*" >&2
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

ensure_venv() {
  # $1: what to pip install into .venv (e.g. "." or ".[test]")
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
  fi
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$1"
}

server_venv() {
  # $1: name under .servers/ (devstack finds it there), then pip requirements
  local dir=".servers/$1"
  shift
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@" >/dev/null
}

debian_kubectl() {
  # The reference client for the Kubernetes emulator's tests: Debian's kubectl,
  # unpacked into .servers/kubectl without installing it (a newer kubectl from
  # another package may own /usr/bin/kubectl). Prints its path; empty if none.
  local dir=".servers/kubectl"
  if [ ! -x "$dir/usr/bin/kubectl" ]; then
    local tmp
    tmp="$(mktemp -d)"
    if (cd "$tmp" && apt-get download -q kubernetes-client >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get download -q kubernetes-client >/dev/null 2>&1; }); then
      mkdir -p "$dir" && dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$dir"
    fi
    rm -rf "$tmp"
  fi
  [ -x "$dir/usr/bin/kubectl" ] && echo "$PWD/$dir/usr/bin/kubectl"
  return 0
}
