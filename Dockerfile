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
# /shop is the shop's data directory (SHOP_DATA_DIR): each service's store in /shop/<service>,
# the seeds in /shop/auth; the directories exist so that named volumes mounted there are the
# shop user's
RUN useradd --system --uid 10001 shop \
    && mkdir -p /shop/auth /shop/catalog /shop/inventory /shop/orders /shop/payments /shop/shipping /shop/support \
    && chown -R shop /shop
COPY --from=build /out/ /usr/local/bin/
USER shop
ENV SHOP_DATA_DIR=/shop LOG_FORMAT=json
