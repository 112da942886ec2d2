# Multi-stage build: compile in the Rust image, run in a slim Debian with only the binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY lua ./lua
# Cargo.toml names this bench target; the manifest does not load without its file.
COPY benches ./benches
RUN cargo build --release --locked --bin lockgate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 lockgate
COPY --from=build /src/target/release/lockgate /usr/local/bin/lockgate
USER lockgate
ENV LOCKGATE_SERVER__LISTEN=0.0.0.0:8080 \
    LOCKGATE_LOG__FORMAT=json
EXPOSE 8080
ENTRYPOINT ["lockgate"]
CMD ["serve"]
