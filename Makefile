# FitTrack developer commands. `make run` and `make test` are all a newcomer needs.
.PHONY: run test lint emulator lambda bench keys clean

# Every API and worker in one process, on the embedded store; emails land in .fittrack/outbox.
run:
	cargo run -p fittrack-cli --bin fittrack -- serve

# Everything CI checks: fmt, clippy, cfn-lint, and all tests (starts the AWS emulator itself).
test:
	infra/scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	"$$(infra/scripts/tools.sh)/cfn-lint" template.yaml

# Starts the emulator in the foreground on port 5005, for running single tests by hand.
emulator:
	"$$(infra/scripts/tools.sh)/python" infra/scripts/moto_serialized.py -H 127.0.0.1 -p 5005

# Release zips of every function (target/lambda/<function>/bootstrap.zip). ARCH=x86-64 if the
# aarch64 target is not installed. One build per function: a joint build would unify Cargo
# features across them, and each function must link only the capabilities it serves.
ARCH ?= arm64
FUNCTIONS = accounts-api connections-api drawings-api drawings-scheduler email-worker leaderboards-api leaderboards-worker points-api points-relay sync-fanout sync-worker tier-birthdays
lambda:
	for f in $(FUNCTIONS); do \
	  PATH="$$(infra/scripts/tools.sh):$$PATH" cargo lambda build --release --$(ARCH) --output-format zip -p $$f || exit 1; \
	done

bench:
	cargo bench -p fittrack-tests --bench accounts --bench points --bench leaderboards --bench drawings

keys:
	cargo run -q -p fittrack-cli --bin fittrack -- keys

clean:
	cargo clean
