# Tandem — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SERVICES := $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
PACKAGES := shared $(SERVICES) simulation
INSTALLED := $(VENV)/.installed
DEPLOY_TOOLS := .tandem/deploy-tools.installed

.PHONY: install deploy-tools run demo test test-quick fuzz chaos load image-test bench lint wheelhouse image helm clean

install: $(INSTALLED)

# Reinstall whenever a package's dependencies or the pinned constraints change.
# The development OpenID provider (Node's oidc-provider) comes with it: tests and `make run` sign in there.
$(INSTALLED): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES)) deploy/dev-identity/package-lock.json
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	@command -v npm >/dev/null || { echo "Node.js and npm are needed for the development OpenID provider"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -r requirements-dev.txt \
		-e 'shared[dev]' $(foreach p,$(SERVICES),-e $(p)) -e simulation --config-settings editable_mode=compat
	cd deploy/dev-identity && npm ci --no-audit --no-fund --silent
	touch $@

# Docker, debootstrap, promtool (Debian), the CRD schemas (npm), checkov: for the image and chart checks.
deploy-tools: $(DEPLOY_TOOLS)

$(DEPLOY_TOOLS): ops/install-tools.sh ops/crds/package-lock.json ops/checkov-constraints.txt
	PYTHON=$(PYTHON) ops/install-tools.sh
	@mkdir -p $(@D) && touch $@

# make run PORT=9001 (the first service's port; the others follow) BROKER_PORT=19092 IDENTITY_PORT=19400
#          DEMO=0 (start empty) SIZE=2000 (the simulated company) WEEKS=24 SEED=2026
SIZE ?= 2000
PORTS = $(if $(PORT),--first-port $(PORT)) $(if $(BROKER_PORT),--broker-port $(BROKER_PORT)) \
	$(if $(IDENTITY_PORT),--identity-port $(IDENTITY_PORT))
SIMULATION = --size $(SIZE) $(if $(WEEKS),--weeks $(WEEKS)) $(if $(SEED),--seed $(SEED))
run: install  ## the whole platform locally, a simulated company of SIZE (2,000) playing a program year (Ctrl-C stops it)
	$(if $(filter 0 no false,$(DEMO)),$(BIN)/tandem run $(PORTS) --no-demo,$(BIN)/tandem simulate $(PORTS) $(SIMULATION))

demo: install  ## make run with a larger company: make demo SIZE=20000
	$(BIN)/tandem simulate $(PORTS) $(SIMULATION)

# The broker-facing kernel tests run a second time on noida-db, the broker that keeps its data and
# has the idempotent producer: production's producer settings, and a restart with the data kept.
BROKER_TESTS := tests/kernel/test_broker_loss.py tests/kernel/test_relay_and_consumers.py

test: install deploy-tools lint  ## lint, then the whole suite: slow fault and fuzz runs and the image build-and-boot included
	$(BIN)/python -m pytest -q
	TANDEM_TEST_BROKER=noida KAFKA_IDEMPOTENT_PRODUCER=true $(BIN)/python -m pytest -q -p no:cacheprovider $(BROKER_TESTS)

test-quick: install deploy-tools  ## the suite without the slow, bounded runs (fault, fuzz, images)
	$(BIN)/python -m pytest -q -m "not slow"

FUZZ_EXAMPLES ?= 100
fuzz: install  ## both HTTP APIs against their OpenAPI documents, with a larger budget (FUZZ_EXAMPLES per operation)
	TANDEM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s tests/fuzz

CHAOS_SECONDS ?= 300
CHAOS_BROKER ?= tansu
CHAOS_FAULTS ?=
chaos: install  ## every service as 2 replicas under load while faults are injected; then the invariants (CHAOS_BROKER=noida too)
	TANDEM_TEST_BROKER=$(CHAOS_BROKER) $(BIN)/python -m ops.chaos --seconds $(CHAOS_SECONDS) --logs .tandem/chaos \
		$(if $(CHAOS_FAULTS),--faults $(CHAOS_FAULTS))

image-test: install deploy-tools  ## only the images: build each installed service's, boot it, stop it
	$(BIN)/python -m pytest -q tests/deploy/test_image.py

wheelhouse: install  ## build/wheelhouse: every pinned wheel the images install
	$(BIN)/python -m ops.image wheelhouse

image: install deploy-tools  ## tandem-<service>:dev for each installed service, on a local Debian base
	$(BIN)/python -m ops.image build

helm: install  ## the chart rendered with default, staging and production values, into build/helm/
	$(BIN)/python -m ops.chart build/helm

bench: install  ## benchmarks; results belong in BENCHMARKS.md
	$(BIN)/python bench/kernel.py
	@for script in $(filter-out bench/kernel.py bench/_%.py,$(wildcard bench/*.py)); do PYTHONPATH=. $(BIN)/python $$script || exit 1; done

load: install  ## rising request rates against every service (one process each) until p99 > 250 ms; end-to-end latency
	PYTHONPATH=. $(BIN)/python bench/load.py

# ruff over everything; per package (the kernel and every service): mypy --strict and deptry (each
# declares what it imports); the Dockerfile with hadolint.
lint: install
	$(BIN)/ruff format --check shared services simulation tests bench ops
	$(BIN)/ruff check shared services simulation tests bench ops
	$(BIN)/hadolint Dockerfile
	$(BIN)/mypy --strict shared/tandem_kernel $(patsubst %/__init__.py,%,$(wildcard $(addsuffix /tandem_*/__init__.py,$(SERVICES)))) \
		simulation/tandem_simulation
	$(BIN)/mypy --strict -p ops
	@for package in $(PACKAGES); do (cd $$package && $(CURDIR)/$(BIN)/deptry . --no-ansi) || exit 1; done

clean:
	-$(BIN)/python -m ops.engine stop
	rm -rf $(VENV) .tandem build .pytest_cache .mypy_cache .ruff_cache
