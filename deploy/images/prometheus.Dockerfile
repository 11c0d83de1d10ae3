# Prometheus from Debian's package, for engines that cannot reach Docker Hub (prom/prometheus is
# the usual image; deploy/compose.yaml takes either through PROMETHEUS_IMAGE). Built on the same
# debian:bookworm-slim as our own images; it runs as nobody, like prom/prometheus.
#   docker build -f deploy/images/prometheus.Dockerfile -t movie-guru-prometheus deploy/images
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
