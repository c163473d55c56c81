# Stand-in for the official python:3.11-slim-bookworm when no image registry can be reached:
# Debian's Python 3.11 in a virtual environment first on PATH, so that `python3` and `pip install`
# work as in the official image (which builds its own Python into /usr/local). The build machine's
# own CA certificates (extra-ca/, from /usr/local/share/ca-certificates) are trusted, and pip uses
# the system's bundle, so that `pip install` works behind the same TLS-inspecting proxy as the host.
FROM debian:bookworm-slim
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && update-ca-certificates \
 && printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > /etc/pip.conf \
 && python3 -m venv /usr/local/python \
 && /usr/local/python/bin/python3 -m pip --version
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
CMD ["python3"]
