# aisle image: the server, the ONNX Runtime library and the default model
# repository, run as a non-root user.
#
#   docker build -t aisle:dev .
#   docker run --rm -p 8001:8001 -p 8002:8002 aisle:dev
#
# The library is fetched and checked exactly as `make setup` does
# (scripts/setup-ort.sh: npm package onnxruntime-node, pinned sha256).
# Flags in CMD are checked against `aisle serve -h` by
# cmd/aisle/deploy_test.go.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first, so source edits do not refetch them.
COPY go.mod go.sum ./
COPY third_party/onnxruntime_go third_party/onnxruntime_go
RUN go mod download
COPY scripts/setup-ort.sh scripts/setup-ort.sh
RUN ./scripts/setup-ort.sh
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/aisle ./cmd/aisle

FROM debian:bookworm-slim
# libstdc++6 and libgcc-s1 are what libonnxruntime.so.1 links against.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 libgcc-s1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/aisle /usr/local/bin/aisle
COPY --from=build /src/third_party/onnxruntime/libonnxruntime.so.1 /opt/aisle/lib/libonnxruntime.so.1
COPY models /opt/aisle/models
ENV ONNXRUNTIME_LIB=/opt/aisle/lib/libonnxruntime.so.1
# 65532 is the conventional "nonroot" uid; nothing in the image is
# writable by it: models are read, never written.
USER 65532:65532
EXPOSE 8001 8002
ENTRYPOINT ["/usr/local/bin/aisle"]
CMD ["serve", "--models=/opt/aisle/models", "--grpc-addr=0.0.0.0:8001", "--http-addr=0.0.0.0:8002", "--log-json"]
