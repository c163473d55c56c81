# registryd container image: built with the official Swift image, run on slim Debian with only
# the two C libraries it links (libpq5, libmicrohttpd12), as a non-root user.
#
#   docker build -t registryd .                 the runtime image (last stage)
#   docker build --target tests -t registryd-tests .   the end-to-end suite, run by compose

FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libpq-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product registryd --static-swift-stdlib \
 && cp "$(swift build -c release --show-bin-path)/registryd" /registryd

# The SDK, schemathesis and hostile-client suite, pointed at a running registryd by URL.
FROM python:3.11-slim-bookworm AS tests
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libmicrohttpd12 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /registryd /usr/local/bin/registryd
WORKDIR /src
COPY Tests/sdk/requirements.txt Tests/sdk/requirements.txt
RUN pip install --no-cache-dir -r Tests/sdk/requirements.txt
COPY Tests/sdk Tests/sdk
COPY migrations migrations
ENTRYPOINT ["Tests/sdk/run-against-url.sh"]

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libmicrohttpd12 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin registryd
COPY --from=build /registryd /usr/local/bin/registryd
COPY migrations /usr/share/registryd/migrations
ENV MIGRATIONS_DIR=/usr/share/registryd/migrations \
    LISTEN_ADDRESS=0.0.0.0 \
    PORT=8080
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/registryd"]
CMD ["serve"]
