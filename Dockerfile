# registryd container image: built with the official Swift image, run on slim Debian with only
# the two C libraries it links (libpq5, libmicrohttpd12), as a non-root user.

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

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libmicrohttpd12 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent registryd
COPY --from=build /registryd /usr/local/bin/registryd
COPY migrations /usr/share/registryd/migrations
ENV MIGRATIONS_DIR=/usr/share/registryd/migrations \
    LISTEN_ADDRESS=0.0.0.0 \
    PORT=8080
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/registryd"]
CMD ["serve"]
