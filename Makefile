# livekit-mock: see README.md. Every target works from a clean clone.
GO        ?= go
BIN       ?= bin/livekit-mock
PKGS      ?= ./...
export CGO_ENABLED ?= 1

.PHONY: run build install go-deps test test-go test-gosdk test-interop interop-deps check lint fmt vet staticcheck imports bench soak fuzz docker clean

run: ## run the server with its defaults on :7880
	$(GO) run ./cmd/livekit-mock

build: go-deps ## build bin/livekit-mock
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/livekit-mock

install: ## go install ./cmd/livekit-mock: livekit-mock in $(go env GOPATH)/bin, or GOBIN (add it to PATH)
	CGO_ENABLED=0 $(GO) install -trimpath ./cmd/livekit-mock
	@d=$$($(GO) env GOBIN); [ -n "$$d" ] || d=$$($(GO) env GOPATH)/bin; echo "installed $$d/livekit-mock (put $$d on your PATH)"

# Each stage says what it does first: compiling with the race detector and a
# first run's downloads take minutes in which go test prints nothing.
test: test-go test-gosdk test-interop ## every test: Go (race on), the Go SDK and the SDK interop suite
	@echo "== make test: every stage passed"

# `go mod download` prints nothing, so say it first; it is quick once the
# module cache holds everything.
go-deps:
	@echo "== Go modules: fetching what the module cache lacks (the first run fetches about 80, which can take minutes)"
	@$(GO) mod download

# bin/testprogress runs `go test -json` and prints each package as it starts
# and ends, what is still running after 30 s of silence, and failures in full.
bin/testprogress: scripts/testprogress/main.go
	$(GO) build -o $@ ./scripts/testprogress

test-go: go-deps bin/testprogress
	@echo "== go test -race ./... (a first run compiles every test binary with the race detector before any result: minutes)"
	bin/testprogress $(GO) test -race -count=1 -json $(PKGS)
	@echo "== go test -race in test/embed (a module of its own)"
	cd test/embed && ../../bin/testprogress $(GO) test -race -count=1 -json ./...

# LiveKit's Go SDK (its own module, test/gosdk) against the built binary, in a
# network namespace of its own: needs root and iproute2, else it skips and says why.
test-gosdk: build bin/testprogress
	@echo "== LiveKit's Go SDK (test/gosdk, a module of its own: the first run fetches and compiles the SDK)"
	cd test/gosdk && $(GO) mod download && LIVEKIT_MOCK_BIN=$(CURDIR)/$(BIN) ../../bin/testprogress $(GO) test -race -count=1 -timeout 10m -json .

interop/node_modules: interop/package.json interop/package-lock.json
	@echo "== npm ci in interop/ (the pinned Node SDKs; first run only)"
	cd interop && npm ci --no-audit --no-fund
	touch interop/node_modules

# The LiveKit Agents worker of agents.test.mjs has its own pinned install.
interop/agents/node_modules: interop/agents/package.json interop/agents/package-lock.json
	cd interop/agents && npm ci --no-audit --no-fund
	touch interop/agents/node_modules

interop-deps: interop/node_modules interop/agents/node_modules

# Each file starts its own server on free ports, so two run at a time; the
# files reporter names each file as it starts and ends.
INTEROP_CONCURRENCY ?= 2
test-interop: build interop-deps ## SDK interop tests (Node 20; Chromium for browser tests)
	@echo "== interop/*.test.mjs: the Node SDKs and Chromium against $(BIN), $(INTEROP_CONCURRENCY) files at a time"
	cd interop && LIVEKIT_MOCK_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=$(INTEROP_CONCURRENCY) --test-timeout=120000 \
		--test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=./lib/files-reporter.mjs --test-reporter-destination=stdout

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) tool staticcheck $(PKGS)

imports:
	bash scripts/check-imports.sh

lint: ## format, vet, staticcheck, import rules
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	bash scripts/check-imports.sh

check: lint test-go ## lint plus the race-enabled Go tests

bench: ## benchmarks against the in-repo baseline (see BENCHMARKS.md); needs wrk
	bash scripts/bench.sh

soak: ## ten minutes of mixed churn; fails on leftover sessions or growing RSS
	SOAK_SECONDS=$${SOAK_SECONDS:-600} bash scripts/soak.sh

FUZZTIME ?= 10s
# CI passes -fuzzminimizetime=0: minimizing an input found in the last moment
# can overrun a short -fuzztime and fail with "context deadline exceeded".
FUZZFLAGS ?=
fuzz: ## each fuzz target for FUZZTIME (CI: a short fixed time)
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./internal/auth
	$(GO) test -run '^$$' -fuzz '^FuzzMintRoundTrip$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./internal/auth
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzNames$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./internal/names
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./internal/signal/jsonwire

docker:
	docker build -t livekit-mock .

clean:
	rm -rf bin
