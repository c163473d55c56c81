# registryd: `make run` serves on :8080 with an embedded PostgreSQL; `make test` runs every test
# (the compose suite too, when a container engine can be started);
# `make bench` measures it against its baselines.
.PHONY: run test compose-test bench build release clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# The Dockerfile and docker-compose.yml built and run (README "Docker and docker compose").
compose-test:
	@scripts/compose-test.sh

# Benchmark against pgbench and the HTTP layer's own ceiling; BENCH_ARGS="--seconds 10 --rounds 5".
bench:
	@scripts/bench.sh $(BENCH_ARGS)

build:
	swift build

release:
	swift build -c release

clean:
	swift package clean
