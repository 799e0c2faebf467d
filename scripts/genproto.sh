#!/usr/bin/env bash
# Regenerates the Go code for every .proto under proto/ with Debian's protoc
# and pinned protoc-gen-go / protoc-gen-go-grpc, installed into
# third_party/bin (git-ignored). The generated *.pb.go and *_grpc.pb.go files
# are committed beside their .proto files. proto/inference/model_config.proto
# is Triton's file, unmodified, so its Go package is given here (M option)
# instead of by a go_package line in it.
#
# It also compiles Triton's own protocol files, kept unmodified in
# server/testdata/triton/, into the FileDescriptorSet the server tests read
# (server/testdata/triton/triton.binpb).
#
# Usage: scripts/genproto.sh
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.1

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/third_party/bin"
cd "$root"

# shellcheck source=scripts/aptlock.sh
command -v protoc >/dev/null || { . "$root/scripts/aptlock.sh" && apt_lock "$root"; }
if ! command -v protoc >/dev/null; then
  echo "genproto: protoc missing, installing protobuf-compiler with apt" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update
  $sudo apt-get install -y protobuf-compiler
fi

# installed <binary> <version>: true when bin/<binary> was built from that module version.
installed() {
  [ -x "$bin/$1" ] && go version -m "$bin/$1" 2>/dev/null | awk '$1 == "mod" {print $3}' | grep -qx "$2"
}

mkdir -p "$bin"
if ! installed protoc-gen-go "$PROTOC_GEN_GO_VERSION"; then
  GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if ! installed protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"; then
  GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi
export PATH="$bin:$PATH"

echo "protoc: $(protoc --version), protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION"

model_config="inference/model_config.proto=github.com/aisle-ai/aisle/proto/inference;inferencepb"

mapfile -t protos < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | sort)
for p in "${protos[@]}"; do
  protoc -I proto \
    --go_out=proto --go_opt=paths=source_relative --go_opt="M$model_config" \
    --go-grpc_out=proto --go-grpc_opt=paths=source_relative --go-grpc_opt="M$model_config" \
    "$p"
  echo "generated proto/${p%.proto}.pb.go proto/${p%.proto}_grpc.pb.go"
done

triton=server/testdata/triton
protoc -I "$triton" --include_imports --descriptor_set_out="$triton/triton.binpb" \
  "$triton/grpc_service.proto"
echo "generated $triton/triton.binpb"
