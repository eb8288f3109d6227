# obsfs — see README.md.
#
#   make build   bin/obsfs and bin/obs-emulator
#   make test    all tests (root, /dev/fuse and fuse3 for the mount tests; .ci/run sets them up)
#   make demo    mount a local emulated bucket and tour it (KEEP=1 leaves it mounted)
#   make bench   benchmark programs (integration/bench)
#   make lint    gofmt, go vet and staticcheck (pinned below)
#   make clean   remove bin/

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
KEEP    ?= 0
# staticcheck runs from the module proxy at this version (no go.mod entry).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test demo bench lint clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/obsfs ./cmd/obsfs
	$(GO) build -o bin/obs-emulator ./cmd/obs-emulator

# The integration tests run the binaries in bin/, so build first.
test: build
	$(GO) test -race -count=1 -timeout 40m ./...

# The script builds (make build) itself, so it also runs on its own.
demo:
	KEEP=$(KEEP) scripts/demo.sh

bench: build
	$(GO) run ./integration/bench

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l reports:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin
