# registryd container image: built with the official Swift image, run on slim Debian with only
# the C libraries it links (libpq5, which brings libssl3/libcrypto; libh2o-evloop0.13 for
# picohttpparser; libcurl4), as a non-root user. The binary links no Foundation
# (FoundationEssentials only), so no ICU data.
#
#   docker build -t registryd .                 the runtime image (last stage)
#   docker build --target tests -t registryd-tests .   the end-to-end suite, run by compose
#
# Needs BuildKit (the default builder since Docker 23; `DOCKER_BUILDKIT=1` on Docker 20.10): the
# build's .build folder is a cache mount, so a rebuild after a change compiles only what changed.
# The binary is stripped (14 MB of symbols): crash backtraces show addresses, not names.

FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libpq-dev libh2o-evloop-dev libssl-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Least changing first: the package manifest, then the sources. The test targets are declared in
# Package.swift, so their folders must exist for the manifest to load.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN --mount=type=cache,id=registryd-swift-build,target=/src/.build \
    swift build -c release --product registryd --static-swift-stdlib \
 && strip -o /registryd "$(swift build -c release --show-bin-path)/registryd"

# The SDK, schemathesis and hostile-client suite, pointed at a running registryd by URL.
FROM python:3.11-slim-bookworm AS tests
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libh2o-evloop0.13 libcurl4 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Tests/sdk/requirements.txt Tests/sdk/requirements.txt
RUN pip install --no-cache-dir -r Tests/sdk/requirements.txt
COPY --from=build /registryd /usr/local/bin/registryd
COPY Tests/sdk Tests/sdk
COPY migrations migrations
ENTRYPOINT ["Tests/sdk/run-against-url.sh"]

# openssl (1.4 MB; libssl3 is there for libpq5 already): docker-compose.yml's registry-setup makes
# the development token key pair and notification secret with it.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libh2o-evloop0.13 libcurl4 openssl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin registryd
COPY migrations /usr/share/registryd/migrations
COPY --from=build /registryd /usr/local/bin/registryd
ENV MIGRATIONS_DIR=/usr/share/registryd/migrations \
    LISTEN_ADDRESS=0.0.0.0 \
    PORT=8080
USER 10001:10001
EXPOSE 8080
# The image has no curl: bash's /dev/tcp asks /readyz (database reachable, schema current).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-8080} && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/registryd"]
CMD ["serve"]
