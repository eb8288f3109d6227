# obsfs — see README.md.
#
#   make build     bin/obsfs, bin/obs-emulator and bin/obsfs-csi (the Kubernetes CSI driver)
#   make test      all tests (root, /dev/fuse and fuse3 for the mount tests; .ci/run sets them up)
#   make demo      mount a local emulated bucket and tour it (KEEP=1 leaves it mounted)
#   make bench     benchmark programs (integration/bench)
#   make lint      gofmt, go vet and staticcheck (pinned below)
#   make install   obsfs, the mount.obsfs helper, obsfs(8) and the systemd examples
#                  under DESTDIR/PREFIX (default /usr/local; the helper in DESTDIR/sbin)
#   make release   static linux/amd64 and linux/arm64 binaries with SHA256SUMS in dist/
#   make clean     remove bin/ and dist/

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
KEEP    ?= 0
# staticcheck runs from the module proxy at this version (no go.mod entry).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Install layout. mount(8) looks for mount.<type> helpers only in /sbin, so
# the helper goes to SBINDIR whatever the PREFIX.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= /sbin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/obsfs
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64
OBSFS_BIN ?= bin/obsfs # what install installs (tests: a binary built elsewhere, with make -o build)

.PHONY: all build test demo bench lint install release clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/obsfs ./cmd/obsfs
	$(GO) build -o bin/obs-emulator ./cmd/obs-emulator
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/obsfs-csi ./cmd/obsfs-csi

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

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(OBSFS_BIN) $(DESTDIR)$(BINDIR)/obsfs
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/mount.obsfs > $(DESTDIR)$(SBINDIR)/mount.obsfs
	chmod 0755 $(DESTDIR)$(SBINDIR)/mount.obsfs
	install -m 0644 doc/obsfs.8 $(DESTDIR)$(MANDIR)/man8/obsfs.8
	for f in contrib/systemd/*; do \
		sed 's|@BINDIR@|$(BINDIR)|g' $$f > $(DESTDIR)$(DOCDIR)/examples/$$(basename $$f); \
	done
	install -m 0644 README.md LICENSE $(DESTDIR)$(DOCDIR)/

# Static binaries (no cgo) for each platform, and their checksums.
release:
	rm -rf dist && mkdir -p dist
	for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" \
			-o dist/obsfs-$(VERSION)-$$os-$$arch ./cmd/obsfs || exit 1; \
	done
	cd dist && sha256sum obsfs-* > SHA256SUMS

clean:
	rm -rf bin dist
