# Alertmanager from Debian's package, for engines that cannot reach Docker Hub
# (prom/alertmanager is the usual image; deploy/compose.yaml takes either through
# ALERTMANAGER_IMAGE). Runs as nobody, like prom/alertmanager.
#   docker build -f deploy/images/alertmanager.Dockerfile -t movie-guru-alertmanager deploy/images
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-alertmanager \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /alertmanager && chown nobody:nogroup /alertmanager
USER nobody
WORKDIR /alertmanager
EXPOSE 9093
ENTRYPOINT ["/usr/bin/prometheus-alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
