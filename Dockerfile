# syntax=docker/dockerfile:1
# Images of the incident rehearsal kit. Targets:
#   docker build -t movie-guru-mock .                    # mock-server (the default, last stage)
#   docker build --target failing -t movie-guru-failing . # the failing canary revision
#   docker build --target loadgen -t movie-guru-loadgen .
# The release build is deploy/build-release, the same script CI runs.

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

FROM debian:bookworm-slim AS runtime
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
USER 10001
ENV PORT=8080
EXPOSE 8080

FROM runtime AS loadgen
COPY --from=builder /src/target/release/loadgen /usr/local/bin/loadgen
ENTRYPOINT ["/usr/local/bin/loadgen"]
CMD ["--help"]

FROM runtime AS failing
COPY --from=builder /src/target/release/mock-server /usr/local/bin/mock-server
ENV MOCK_PROFILE=failing MOCK_REVISION=next
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/mock-server", "--probe"]
ENTRYPOINT ["/usr/local/bin/mock-server"]

FROM runtime AS mock-server
COPY --from=builder /src/target/release/mock-server /usr/local/bin/mock-server
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/mock-server", "--probe"]
ENTRYPOINT ["/usr/local/bin/mock-server"]
