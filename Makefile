# sofs — see README.md. `make run` starts the main job, `make test` proves it.
GO        ?= go
BIN       := $(CURDIR)/bin
FUZZTIME  ?= 20s
TESTFLAGS ?=
export SOFS_BIN := $(BIN)

.PHONY: all build deps run test unit integration bench fuzz lint clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

deps:
	scripts/install-deps.sh

run: build
	scripts/run.sh

# Unit, property and integration tests (real smbclient, smbtorture, go-smb2, BIND 9).
test: deps build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m $(TESTFLAGS) ./...

bench: deps build
	scripts/bench.sh

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
