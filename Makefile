# registryd: `make run` serves on :8080 with an embedded PostgreSQL; `make test` runs every test;
# `make bench` measures it against its baselines.
.PHONY: run test bench build release clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Benchmark against pgbench and the HTTP layer's own ceiling; BENCH_ARGS="--seconds 10 --rounds 5".
bench:
	@scripts/bench.sh $(BENCH_ARGS)

build:
	swift build

release:
	swift build -c release

clean:
	swift package clean
