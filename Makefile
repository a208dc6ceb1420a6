# livekit-mock: see README.md. Every target works from a clean clone.
GO        ?= go
BIN       ?= bin/livekit-mock
PKGS      ?= ./...
export CGO_ENABLED ?= 1

.PHONY: run build install test test-go test-gosdk test-interop interop-deps check lint fmt vet staticcheck imports bench soak fuzz docker clean

run: ## run the server with its defaults on :7880
	$(GO) run ./cmd/livekit-mock

build: ## build bin/livekit-mock
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/livekit-mock

install: ## go install ./cmd/livekit-mock: livekit-mock in $(go env GOPATH)/bin, or GOBIN (add it to PATH)
	CGO_ENABLED=0 $(GO) install -trimpath ./cmd/livekit-mock
	@d=$$($(GO) env GOBIN); [ -n "$$d" ] || d=$$($(GO) env GOPATH)/bin; echo "installed $$d/livekit-mock (put $$d on your PATH)"

test: test-go test-gosdk test-interop ## every test: Go (race on), the Go SDK and the SDK interop suite

test-go:
	$(GO) test -race -count=1 $(PKGS)
	cd test/embed && $(GO) test -race -count=1 ./...

# LiveKit's Go SDK (its own module, test/gosdk) against the built binary, in a
# network namespace of its own: needs root and iproute2, else it skips and says why.
test-gosdk: build
	cd test/gosdk && LIVEKIT_MOCK_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 10m .

interop/node_modules: interop/package.json interop/package-lock.json
	cd interop && npm ci --no-audit --no-fund
	touch interop/node_modules

# The LiveKit Agents worker of agents.test.mjs has its own pinned install.
interop/agents/node_modules: interop/agents/package.json interop/agents/package-lock.json
	cd interop/agents && npm ci --no-audit --no-fund
	touch interop/agents/node_modules

interop-deps: interop/node_modules interop/agents/node_modules

test-interop: build interop-deps ## SDK interop tests (Node 20; Chromium for browser tests)
	cd interop && LIVEKIT_MOCK_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 --test-timeout=120000

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
