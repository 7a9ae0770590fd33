#!/usr/bin/env bash
# Generate a private CA, a SuperLink TLS certificate and SuperNode auth keys (never commit them).
#
#   scripts/gen-certs.sh [OUT_DIR=deploy/certs] [NUM_NODES=3] [EXTRA_SAN...]
#   scripts/gen-certs.sh --volumes DIR [NUM_NODES=3] [EXTRA_SAN...]   (compose's `certs` service)
#
# OUT_DIR/ca.crt                 CA that SuperNodes and `flwr` trust (--root-certificates)
# OUT_DIR/server.pem, server.key SuperLink certificate + key (--ssl-certfile/--ssl-keyfile);
#                                SANs: localhost, 127.0.0.1, ::1, superlink (compose) + extras
# OUT_DIR/node-<i>, node-<i>.pub SuperNode i's ECDSA key pair in OpenSSH format
#                                (--auth-supernode-private-key; register the .pub with
#                                `flwr supernode register`)
# Existing files are kept (delete the folder to rotate). Keys are readable by their owner only;
# CERT_OWNER=49999 (as root) hands them to the user of Flower's and fedchurn's images (compose).
#
# --volumes DIR: everything is generated in DIR/ca (the CA key never leaves it), then handed
# out one volume per reader: DIR/public (ca.crt, node-<i>.pub: everyone), DIR/superlink
# (server.pem, server.key: the SuperLink), DIR/node-<i>/key (SuperNode i's private key only).
set -euo pipefail

VOLUMES=""
if [[ "${1:-}" == "--volumes" ]]; then
  VOLUMES="${2:?--volumes needs a folder}"
  shift 2
  set -- "$VOLUMES/ca" "$@"
fi
OUT="${1:-deploy/certs}"
NODES="${2:-3}"
shift $(( $# > 2 ? 2 : $# ))
DAYS="${CERT_DAYS:-365}"

command -v openssl >/dev/null || { echo "gen-certs: openssl is required" >&2; exit 1; }
command -v ssh-keygen >/dev/null || { echo "gen-certs: ssh-keygen is required" >&2; exit 1; }
mkdir -p "$OUT"
chmod 700 "$OUT"
umask 077

san="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:superlink"
for extra in "$@"; do
  if [[ "$extra" =~ ^[0-9.]+$ || "$extra" == *:* ]]; then san="$san,IP:$extra"; else san="$san,DNS:$extra"; fi
done

if [[ ! -s "$OUT/ca.crt" || ! -s "$OUT/ca.key" ]]; then
  openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days "$DAYS" \
    -keyout "$OUT/ca.key" -out "$OUT/ca.crt" -subj "/CN=fedchurn local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi

if [[ ! -s "$OUT/server.pem" || ! -s "$OUT/server.key" ]]; then
  openssl req -newkey rsa:3072 -sha256 -nodes -keyout "$OUT/server.key" -out "$OUT/server.csr" \
    -subj "/CN=superlink" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$san" > "$OUT/server.ext"
  openssl x509 -req -in "$OUT/server.csr" -CA "$OUT/ca.crt" -CAkey "$OUT/ca.key" \
    -CAcreateserial -days "$DAYS" -sha256 -extfile "$OUT/server.ext" -out "$OUT/server.pem" \
    2>/dev/null
  rm -f "$OUT/server.csr" "$OUT/server.ext"
fi

for (( i = 0; i < NODES; i++ )); do
  if [[ ! -s "$OUT/node-$i" ]]; then
    ssh-keygen -q -t ecdsa -b 384 -N "" -C "fedchurn-node-$i" -f "$OUT/node-$i"
  fi
done

# Public material may be read by the containers' users; private keys stay owner-only.
chmod 644 "$OUT/ca.crt" "$OUT/server.pem" "$OUT"/node-*.pub
chmod 755 "$OUT"
if [[ -n "${CERT_OWNER:-}" ]]; then chown -R "$CERT_OWNER" "$OUT"; fi
if [[ -n "$VOLUMES" ]]; then
  chmod 700 "$OUT"
  install -m 644 "$OUT/ca.crt" "$OUT"/node-*.pub "$VOLUMES/public/"
  install -m 644 "$OUT/server.pem" "$VOLUMES/superlink/server.pem"
  install -m 600 "$OUT/server.key" "$VOLUMES/superlink/server.key"
  for (( i = 0; i < NODES; i++ )); do
    install -m 600 "$OUT/node-$i" "$VOLUMES/node-$i/key"
  done
fi
echo "certificates and keys in $OUT (CA: $OUT/ca.crt; SANs: $san; $NODES node key pairs)"
