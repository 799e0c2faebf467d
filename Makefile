# aisle: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED := 1
export ONNXRUNTIME_LIB ?= $(CURDIR)/third_party/onnxruntime/libonnxruntime.so.1

.PHONY: run test build setup onnx-testdata proto testmodels bench verify clean

## run: fetch ONNX Runtime, build aisle and serve the default model repository
run: build
	./bin/aisle serve --models models

## test: fetch ONNX Runtime and the ONNX conformance data and run every test with the race detector, then smoke-run the benchmarks and the load-test suite (scripts/bench/load.sh --smoke)
test: setup onnx-testdata
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...
	OUT=build/bench/smoke ./scripts/bench/load.sh --smoke

## build: compile bin/aisle
build: setup
	$(GO) build -o bin/aisle ./cmd/aisle

## setup: fetch and check libonnxruntime.so.1 into third_party/ (git-ignored)
setup:
	./scripts/setup-ort.sh

## onnx-testdata: fetch the ONNX backend node tests (Debian's libonnx-testdata) into third_party/ (git-ignored)
onnx-testdata:
	./scripts/setup-onnx-testdata.sh

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
