# aisle: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED := 1
export ONNXRUNTIME_LIB ?= $(CURDIR)/third_party/onnxruntime/libonnxruntime.so.1

.PHONY: run test fuzz build setup setup-redis setup-python onnx-testdata proto testmodels bench verify clean

## run: fetch ONNX Runtime, build aisle and serve the default model repository
run: build
	./bin/aisle serve --models models

## test: fetch ONNX Runtime, Redis and the ONNX conformance data, install Debian's python3-numpy/torch/onnx when missing, run every Go test with the race detector and the evaluation code's Python unit tests, then smoke-run the benchmarks, the fuzz targets (5s each) and the load-test suite (scripts/bench/load.sh --smoke: it fails when a scenario's calls all fail or any fails other than RESOURCE_EXHAUSTED), after the load client's and the bench scripts' own tests
test: setup setup-redis onnx-testdata setup-python
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	/usr/bin/python3 -m unittest discover -s scripts/eval
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...
	./scripts/fuzz.sh 5s
	cd bench && $(GO) test -count=1 ./cmd/...
	./scripts/bench/ready_test.sh
	./scripts/aptlock_test.sh
	OUT=build/bench/smoke ./scripts/bench/load.sh --smoke

## fuzz: run every fuzz target for FUZZTIME each (default 5m; scripts/fuzz.sh)
fuzz: setup
	./scripts/fuzz.sh $(or $(FUZZTIME),5m)

## build: compile bin/aisle
build: setup
	$(GO) build -o bin/aisle ./cmd/aisle

## setup: fetch and check libonnxruntime.so.1 into third_party/ (git-ignored)
setup:
	./scripts/setup-ort.sh

# setup-redis, setup-python and onnx-testdata (and proto) run apt-get: they take turns on
# third_party/.apt.lock (scripts/aptlock.sh), so `make -j test` is safe.

## onnx-testdata: fetch the ONNX backend node tests (Debian's libonnx-testdata) into third_party/ (git-ignored)
onnx-testdata:
	./scripts/setup-onnx-testdata.sh
## setup-python: Debian's python3-numpy, python3-torch and python3-onnx for /usr/bin/python3 (apt, as root or with sudo; nothing from PyPI)
setup-python:
	./scripts/setup-python.sh

## setup-redis: unpack Debian's redis-server 7.0 into third_party/redis (git-ignored); the tests start their own servers
setup-redis:
	./scripts/setup-redis.sh

## proto: regenerate the committed Go code from proto/
proto:
	./scripts/genproto.sh

## testmodels: regenerate testdata/onnx and testdata/encoders (needs Debian's python3-onnx, python3-torch)
testmodels:
	./scripts/setup-python.sh
	/usr/bin/python3 scripts/make_testmodels.py
	/usr/bin/python3 scripts/make_extdata_models.py
	/usr/bin/python3 scripts/make_test_encoders.py

## verify: formatting, vet and generated code freshness
verify: setup
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	$(GO) mod tidy -diff

clean:
	rm -rf bin
