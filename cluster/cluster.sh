#!/usr/bin/env bash
# A local Kubernetes 1.34 control plane for the deploy tests: see cluster/README.md.
#
#   cluster/cluster.sh up [--dir DIR]     build if needed, start, print `export PATH=...` and `export KUBECONFIG=...` last
#   cluster/cluster.sh down [--dir DIR]   stop what `up` started in DIR
#   cluster/cluster.sh build              only build
#
# DIR defaults to <repo>/.cache/cluster/state; the binaries go to <repo>/.cache/cluster/bin.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
bin="$repo/.cache/cluster/bin"
dir="$repo/.cache/cluster/state"
crd="$repo/imports/helm.cattle.io_helmchartconfigs.yaml"

say() { echo "cluster: $*" >&2; }
usage() {
  echo "usage: cluster/cluster.sh up [--dir DIR] | down [--dir DIR] | build" >&2
  exit 2
}

# build compiles the given packages into $bin with `go build`, whose cache
# makes an unchanged build a matter of seconds. A cold build compiles a few
# thousand packages for many minutes, so progress is reported as it goes.
build() {
  local started=$SECONDS ticker status
  mkdir -p "$bin"
  say "building $* into $bin"
  # Linking kube-apiserver prints nothing for a while: say we are still at it.
  # The ticker kills its sleep when stopped, or the sleep would keep our
  # stderr open and whoever reads it (npm, a test) would wait for it.
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 20 &
      nap=$!
      wait "$nap"
      say "still building ($((SECONDS - started))s)"
    done
  ) &
  ticker=$!
  trap 'kill "$ticker" 2>/dev/null || true' EXIT
  set +e
  (
    cd "$here"
    local pkgs=() etcd=0
    for p in "$@"; do
      if [[ $p == etcd ]]; then etcd=1; else pkgs+=("$p"); fi
    done
    # etcd's main package is go.etcd.io/etcd/server/v3: -o DIR/ would name it
    # "server", so it gets its own go build with an explicit output name.
    if ((${#pkgs[@]})); then go build -v -ldflags "$(version_ldflags)" -o "$bin/" "${pkgs[@]}" || exit; fi
    if ((etcd)); then go build -v -o "$bin/etcd" go.etcd.io/etcd/server/v3 || exit; fi
  ) 2>&1 | {
    count=0 last=$SECONDS
    while IFS= read -r line; do
      # `go build -v` names each package it compiles; anything else is a
      # message (a compile error) to pass on.
      if [[ $line =~ ^[[:alnum:]._~/-]+$ ]]; then
        count=$((count + 1))
        if ((SECONDS - last >= 5)); then
          last=$SECONDS
          say "compiled $count package(s) ($((SECONDS - started))s)"
        fi
      else
        echo "$line" >&2
      fi
    done
    ((count == 0)) || say "compiled $count package(s)"
  }
  status=${PIPESTATUS[0]}
  set -e
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  trap - EXIT
  if ((status != 0)); then
    say "build failed after $((SECONDS - started))s"
    exit "$status"
  fi
  say "build done in $((SECONDS - started))s"
}

# version_ldflags stamps the version as Kubernetes' release build does
# (hack/lib/version.sh), or `kubectl version` would show v0.0.0-master. The
# values come from go.mod's k8s.io/kubernetes, and the date is the module's,
# so that they do not change between builds and defeat Go's build cache.
version_ldflags() {
  local version date flags=() key value
  version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
  date="$(go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
  local minor="${version#v*.}"
  minor="${minor%%.*}"
  for kv in "gitVersion=$version" "gitMajor=${version:1:1}" "gitMinor=$minor" \
    "gitTreeState=clean" "gitCommit=" "buildDate=$date"; do
    key="${kv%%=*}" value="${kv#*=}"
    flags+=("-X 'k8s.io/component-base/version.$key=$value'" "-X 'k8s.io/client-go/pkg/version.$key=$value'")
  done
  echo "${flags[*]}"
}

build_all() {
  # kubectl too: the machine's (Google Cloud SDK's dispatcher) has no 1.34 and runs its own 1.32,
  # outside the supported skew of a 1.34 server.
  build k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ./cmd/hdcluster ./cmd/simulator etcd
}

command="${1:-}"
[[ -n $command ]] || usage
shift
while (($#)); do
  case "$1" in
    --dir) [[ $# -ge 2 ]] || usage; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    *) usage ;;
  esac
done

case "$command" in
  build) build_all ;;
  up)
    build_all
    exec "$bin/hdcluster" up --dir "$dir" --bin "$bin" --crd "$crd"
    ;;
  down)
    # Stopping needs only hdcluster, not the whole control plane built.
    build ./cmd/hdcluster
    exec "$bin/hdcluster" down --dir "$dir"
    ;;
  *) usage ;;
esac
