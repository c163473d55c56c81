# registryd: `make run` serves on :8080 with an embedded PostgreSQL; `make test` runs every test.
.PHONY: run test build release clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

build:
	swift build

release:
	swift build -c release

clean:
	swift package clean
