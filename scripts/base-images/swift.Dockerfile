# Stand-in for the official swift:6.3-bookworm when no image registry can be reached: the packages
# the official image installs, and the host's Swift toolchain merged into /usr as it does.
# Built by scripts/base-images.sh with the toolchain's root (the folder holding usr/) as context.
FROM debian:bookworm-slim
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      binutils ca-certificates git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev \
      libncurses-dev libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev libz3-dev \
      pkg-config tzdata unzip zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY usr /usr
RUN swift --version
CMD ["bash"]
