# One image with every service binary and shopctl; compose.yaml picks the binary per container.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --workspace --bins \
 && mkdir /out \
 && cp target/release/shop-catalog target/release/shop-inventory target/release/shop-orders \
       target/release/shop-payments target/release/shop-shipping target/release/shop-support \
       target/release/shopctl /out/

FROM debian:bookworm-slim
# /shop/auth exists in the image, owned by shop, so the auth volume mounted there is writable
RUN useradd --system --uid 10001 shop && mkdir -p /data /shop/auth && chown -R shop /data /shop
COPY --from=build /out/ /usr/local/bin/
USER shop
ENV SHOP_DATA_DIR=/data LOG_FORMAT=json
VOLUME ["/data"]
