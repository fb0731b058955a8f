#!/usr/bin/env bash
# Makes the test PKI of the secured Kafka listeners (install-kafka.sh with GALLEY_KAFKA_SECURE=1)
# in DIR, with the openssl command line: a test CA, the broker's certificate (for 127.0.0.1 and
# localhost), a client certificate for mTLS, and what the rejection tests need: a client
# certificate signed by the same CA that expired in 2020, and a second CA nobody trusts. Also a
# random SCRAM password for the test user. Every key is unencrypted PKCS#8 (test material only).
#
# Usage: kafka-tls.sh DIR      Idempotent: material already in DIR is kept while the CA and the
# broker's certificate are valid for another day; otherwise all of it is made again.
# Files: ca.pem ca.key broker-keystore.pem (key + chain, Kafka's PEM keystore) client.pem
# client.key expired-client.pem expired-client.key untrusted-ca.pem scram.password, and for
# OAUTHBEARER the test identity provider's signing key oidc.key (ES256) with its public half as
# the JWKS the broker validates tokens against, oidc-jwks.json (key id galley-test).
set -euo pipefail

dir=${1:?usage: kafka-tls.sh DIR}
die() { echo "kafka-tls.sh: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"
mkdir -p "$dir"
cd "$dir"

if [ -s scram.password ] && [ -s broker-keystore.pem ] && [ -s oidc-jwks.json ] &&
  openssl x509 -checkend 86400 -noout -in ca.pem >/dev/null 2>&1 &&
  openssl x509 -checkend 86400 -noout -in broker.pem >/dev/null 2>&1; then
  exit 0
fi
rm -rf ca-db && mkdir ca-db && : >ca-db/index.txt && echo 1000 >ca-db/serial

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# A self-signed CA: ca NAME SUBJECT
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "$2" -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
# A leaf signed by ca.pem: leaf NAME SUBJECT EXTENSIONS [openssl ca date options...]
leaf() {
  local name=$1 subj=$2 ext=$3; shift 3
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  cat >ca-db/ca.cnf <<EOF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
default_days = 30
policy = any
unique_subject = no
[any]
commonName = supplied
[ext]
$ext
EOF
  openssl ca -batch -notext -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -extensions ext \
    -in "$name.csr" -out "$name.pem" "$@" 2>ca-db/last.log || { cat ca-db/last.log >&2; die "signing $name failed"; }
  rm -f "$name.csr"
}

ca ca "/CN=Galley test CA"
ca untrusted-ca "/CN=Galley untrusted CA"
rm -f untrusted-ca.key
leaf broker "/CN=127.0.0.1" "subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth, clientAuth"
leaf client "/CN=galley-client" "extendedKeyUsage = clientAuth"
leaf expired-client "/CN=galley-expired" "extendedKeyUsage = clientAuth" \
  -startdate 20200101000000Z -enddate 20200201000000Z
cat broker.key broker.pem ca.pem >broker-keystore.pem
key oidc.key
# A P-256 public key's DER ends with the point's X and Y, 32 bytes each.
openssl pkey -in oidc.key -pubout -outform DER | tail -c 64 | python3 -c 'import base64, json, sys
xy = sys.stdin.buffer.read()
b = lambda v: base64.urlsafe_b64encode(v).decode().rstrip("=")
key = {"kty": "EC", "crv": "P-256", "kid": "galley-test", "use": "sig", "alg": "ES256", "x": b(xy[:32]), "y": b(xy[32:])}
print(json.dumps({"keys": [key]}))' >oidc-jwks.json
openssl rand -hex 16 >scram.password
chmod 600 ./*.key broker-keystore.pem scram.password
echo "Test PKI made in $dir (CA, broker, client, expired client, untrusted CA)." >&2
