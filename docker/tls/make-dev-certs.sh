#!/usr/bin/env bash
# A private CA and the files docker/compose.tls.yaml mounts, for trying the secure stack (or a
# test): in production, use certificates from your own CA and tokens from your secret store.
#   docker/tls/make-dev-certs.sh DIR [DAYS]
# DIR gets:
#   ca.pem                    the CA clients and the balancer trust
#   server.pem, server.key    the replicas' certificate: DNS crepe, localhost, IP 127.0.0.1
#   lb.pem                    the balancer's certificate and key in one file (HAProxy's format):
#                             DNS lb, localhost, IP 127.0.0.1 (what clients connect to)
#   tokens                    the bearer tokens the replicas accept (one per line)
#   client-token              one of them, for crepe-client --token-file
# Keys are EC P-256, readable by everyone in DIR (containers run as other users): keep DIR private.
set -euo pipefail
DIR=${1:?usage: make-dev-certs.sh DIR [DAYS]}
DAYS=${2:-30}
mkdir -p "$DIR"
cd "$DIR"
quiet() { "$@" >/dev/null 2>&1 || { echo "make-dev-certs.sh: $* failed" >&2; "$@"; exit 1; }; }

quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$DAYS" \
  -keyout ca.key -out ca.pem -subj "/CN=crepe-dev-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() {  # leaf NAME SUBJECT_ALT_NAMES
  quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=$1"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2" > "$1.ext"
  quiet openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$DAYS" -out "$1.pem" \
    -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}
leaf server "DNS:crepe,DNS:localhost,IP:127.0.0.1"
leaf lb "DNS:lb,DNS:localhost,IP:127.0.0.1"
cat lb.pem lb.key > lb-bundle.pem && mv lb-bundle.pem lb.pem && rm lb.key
rm -f ca.key ca.srl  # nothing more is signed with this CA
openssl rand -hex 32 > client-token
cp client-token tokens
chmod 0644 ./*
echo "make-dev-certs.sh: CA, replica and balancer certificates and a token in $DIR"
