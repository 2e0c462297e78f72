#!/bin/sh
# The cluster's certificates (SPEC 13, docs/operations.md "Many
# machines"): a CA of the operator's own, a certificate for the session
# hosts (the name foyer-host, server use) and one for the gateways
# (client use), all ECDSA P-256, with openssl. Gateways and hosts accept
# only each other's certificates from this CA: keep ca-key.pem offline.
#
#   deploy/swarm/certs.sh DIR        makes DIR/ca.pem, ca-key.pem,
#                                    host.pem, host-key.pem,
#                                    gateway.pem, gateway-key.pem
#   CA_DIR=OLD deploy/swarm/certs.sh DIR
#                                    new host and gateway certificates
#                                    from the CA already in OLD
set -eu
dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir"
umask 077
cd "$dir"

if [ -n "${CA_DIR:-}" ]; then
    cp "$CA_DIR/ca.pem" "$CA_DIR/ca-key.pem" .
elif [ ! -f ca.pem ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -days 3650 -subj "/CN=foyer cluster CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout ca-key.pem -out ca.pem 2>/dev/null
fi

# leaf NAME COMMON_NAME EXTENSIONS
leaf() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$2" -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem \
        -CAcreateserial -days 825 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

leaf host foyer-host "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:foyer-host"
leaf gateway foyer-gateway "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
chmod 0644 ca.pem host.pem gateway.pem
echo "certificates in $(pwd): ca.pem (trust), host.pem + host-key.pem, gateway.pem + gateway-key.pem"
