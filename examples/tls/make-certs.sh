#!/bin/sh
# Makes a throwaway CA and one certificate per node for BIN over TLS (bins:), with openssl.
#
#   examples/tls/make-certs.sh DIR [NAME ...]        (default names: node1 node2 node3)
#
# DIR/ca.pem, DIR/ca.key        the CA (EC P-256, 10 years)
# DIR/NAME.pem, DIR/NAME.key    a node certificate: CN=NAME, SAN DNS:NAME + IP:127.0.0.1,
#                               extendedKeyUsage serverAuth+clientAuth (every node is a TLS
#                               server on the links it accepts and a client on those it opens)
# Existing files are kept, so the script can add nodes to an existing CA.
set -eu
dir=${1:?usage: make-certs.sh DIR [NAME ...]}
shift
[ $# -gt 0 ] || set -- node1 node2 node3
days=${CERT_DAYS:-3650}
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.pem ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.pem -days "$days" -subj "/O=tsips example/CN=tsips example CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
fi
for name in "$@"; do
  [ -f "$name.pem" ] && continue
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/O=tsips example/CN=$name" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s,IP:127.0.0.1\n' "$name" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  echo "$dir/$name.pem"
done
chmod 600 ./*.key
