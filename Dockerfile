# Images of the incident rehearsal kit. Targets:
#   docker build -t movie-guru-mock .                    # mock-server (the default, last stage)
#   docker build --target failing -t movie-guru-failing . # the failing canary revision
#   docker build --target loadgen -t movie-guru-loadgen .
# The release build is deploy/build-release, the same script CI runs. That full multi-stage build
# is the documented path. CI, which has already run deploy/build-release, passes
#   --build-arg BINARIES=prebuilt
# to copy target/release/{mock-server,loadgen} instead of compiling a second time (BuildKit
# skips the unused builder stages; .dockerignore lets exactly those two files through).
# No `# syntax=` line: the builtin frontend needs no registry, so offline engines build this too.
# Needs BuildKit (the default since Docker 23; DOCKER_BUILDKIT=1 on older engines): the legacy
# builder would build every stage, the prebuilt one included.

ARG BINARIES=builder

FROM rust:1-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

# The dependency graph only: this layer and the next stay cached until Cargo.toml/Cargo.lock change.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p mock-server -p loadgen
COPY . .
RUN deploy/build-release

# The binaries as the Dockerfile built them: /src/target/release/ in both stages.
FROM scratch AS prebuilt
COPY target/release/mock-server target/release/loadgen /src/target/release/

FROM ${BINARIES} AS binaries

FROM debian:bookworm-slim AS runtime
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
USER 10001
ENV PORT=8080
EXPOSE 8080

FROM runtime AS loadgen
COPY --from=binaries /src/target/release/loadgen /usr/local/bin/loadgen
ENTRYPOINT ["/usr/local/bin/loadgen"]
CMD ["--help"]

FROM runtime AS failing
COPY --from=binaries /src/target/release/mock-server /usr/local/bin/mock-server
ENV MOCK_PROFILE=failing MOCK_REVISION=next
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/mock-server", "--probe"]
ENTRYPOINT ["/usr/local/bin/mock-server"]

FROM runtime AS mock-server
COPY --from=binaries /src/target/release/mock-server /usr/local/bin/mock-server
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/mock-server", "--probe"]
ENTRYPOINT ["/usr/local/bin/mock-server"]
