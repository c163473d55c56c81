# Stand-in for the official registry:2.8.2 when no image registry can be reached: Debian's
# docker-registry package (CNCF distribution 2.8.2) with the official image's conventions, so that
# docker-compose.yml works unchanged with both: the binary at /bin/registry, the configuration at
# /etc/docker/registry/config.yml (the official example's settings), storage in the volume
# /var/lib/registry, port 5000, and the same entrypoint (a *.yml argument means `registry serve`).
FROM debian:bookworm-slim
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates docker-registry \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/docker-registry /usr/bin/registry \
 && /bin/registry --version | grep -q ' 2\.8\.2' \
 && mkdir -p /var/lib/registry /etc/docker/registry
COPY registry-config-example.yml /etc/docker/registry/config.yml
COPY registry-entrypoint.sh /entrypoint.sh
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/entrypoint.sh"]
CMD ["/etc/docker/registry/config.yml"]
