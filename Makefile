# flowhunt: the two commands of a new user are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/flowhunt
export GOFLAGS ?= -buildvcs=false

.PHONY: all build demo test bench clean

all: build

build:
	./scripts/build.sh $(BIN)

demo: build
	$(BIN) demo

test:
	./scripts/test.sh

bench: build
	./scripts/bench.sh

clean:
	rm -rf bin
