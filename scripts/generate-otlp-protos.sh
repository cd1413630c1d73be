#!/bin/bash
# Regenerates Sources/OpenTelemetryProto from the OTLP trace protos. Run by hand when the
# pinned versions change; CI never runs it (the generated code is committed, so a build
# needs neither protoc nor the plugin).
#
#   OTLP protos:       open-telemetry/opentelemetry-proto, tag v1.11.0
#   protoc:            Debian's protobuf-compiler (libprotoc 3.21.12 was used)
#   protoc-gen-swift:  apple/swift-protobuf 1.39.0, the version Package.swift depends on
#   google.rpc.Status: scripts/protos/google/rpc/status.proto (googleapis' definition)
#
# Usage: scripts/generate-otlp-protos.sh PROTO_REPO_DIR SWIFT_PROTOBUF_DIR
#   PROTO_REPO_DIR      a clone of opentelemetry-proto (any checkout; the tag is read from git)
#   SWIFT_PROTOBUF_DIR  a clone of swift-protobuf at 1.39.0
set -euo pipefail
PROTO_TAG=v1.11.0
proto_repo=${1:?usage: $0 PROTO_REPO_DIR SWIFT_PROTOBUF_DIR}
swift_protobuf=${2:?usage: $0 PROTO_REPO_DIR SWIFT_PROTOBUF_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$swift_protobuf" && swift build -c release --product protoc-gen-swift)
git -C "$proto_repo" archive "$PROTO_TAG" opentelemetry/proto/common opentelemetry/proto/resource \
    opentelemetry/proto/trace opentelemetry/proto/collector/trace | tar -x -C "$work"
rm -f "$root"/Sources/OpenTelemetryProto/*.pb.swift
(cd "$work" && protoc --plugin=protoc-gen-swift="$swift_protobuf/.build/release/protoc-gen-swift" \
    --swift_out="$root/Sources/OpenTelemetryProto" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
    opentelemetry/proto/common/v1/common.proto opentelemetry/proto/resource/v1/resource.proto \
    opentelemetry/proto/trace/v1/trace.proto opentelemetry/proto/collector/trace/v1/trace_service.proto)
# google.rpc.Status, the body of a failed OTLP/HTTP answer (scripts/protos holds its definition).
(cd "$root/scripts/protos" && protoc -I. -I/usr/include \
    --plugin=protoc-gen-swift="$swift_protobuf/.build/release/protoc-gen-swift" \
    --swift_out="$root/Sources/OpenTelemetryProto" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores google/rpc/status.proto)
echo "generated from opentelemetry-proto $PROTO_TAG into Sources/OpenTelemetryProto"
