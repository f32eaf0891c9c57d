# syntax=docker/dockerfile:1
# Tollgate container image: build with Swift on Debian 12, run on debian:bookworm-slim.
#
#   docker build -t tollgate .
#   docker run -d --name tollgate -p 8080:8080 --stop-timeout 10 \
#     -e TOLLGATE_UPSTREAM_URL=http://gpu-box:8000 -e TOLLGATE_UPSTREAM_MODEL=meta-llama/Llama-3.1-8B-Instruct \
#     -e TOLLGATE_API_KEY=tg-... -v tollgate-data:/var/lib/tollgate tollgate
#
# The default config is deploy/docker/tollgate.yaml (0.0.0.0:8080, SQLite in the volume); mount
# your own over /etc/tollgate/docker.yaml for more. See deploy/README.md.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build
FROM ${SWIFT_IMAGE} AS build
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends libcurl4-openssl-dev libyaml-dev libsqlite3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that editing Sources/ does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
# Package.swift declares the test targets, and SwiftPM wants their folders to exist.
COPY Tests ./Tests
# --static-swift-stdlib: the Swift runtime is linked in (smaller idle RSS, and the runtime image
# needs no Swift libraries); libcurl, libyaml and SQLite stay shared, from Debian.
RUN swift build -c release --static-swift-stdlib --product tollgate \
 && mkdir -p /out \
 && install -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/tollgate" /out/tollgate \
 && if [ -x /usr/libexec/swift/linux/swift-backtrace-static ]; then \
        install -m 0755 /usr/libexec/swift/linux/swift-backtrace-static /out/swift-backtrace-static; fi \
 && /out/tollgate version

# ---------------------------------------------------------------- run
FROM ${RUNTIME_IMAGE}
# libcurl4, libyaml-0-2 and libsqlite3-0: linked by tollgate; ca-certificates: HTTPS upstreams; tzdata:
# calendar quotas in a configured `defaults.timezone`; curl: the HEALTHCHECK below.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends libcurl4 libyaml-0-2 libsqlite3-0 ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/tollgate --shell /usr/sbin/nologin tollgate \
 && install -d -o tollgate -g tollgate -m 0750 /var/lib/tollgate

COPY --from=build /out/ /usr/local/bin/
COPY Config/ /etc/tollgate/
COPY deploy/docker/tollgate.yaml /etc/tollgate/docker.yaml

# Crash reports with symbolicated backtraces on stderr (when the build image shipped the tool).
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/bin/swift-backtrace-static

USER tollgate
WORKDIR /var/lib/tollgate
VOLUME ["/var/lib/tollgate"]
EXPOSE 8080
# SIGTERM drains in-flight requests for server.drain_timeout (8 s in docker.yaml), inside
# `docker stop`'s default 10 s; raise both together (--stop-timeout / stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1

ENTRYPOINT ["/usr/local/bin/tollgate"]
CMD ["serve", "--config", "/etc/tollgate/docker.yaml"]
