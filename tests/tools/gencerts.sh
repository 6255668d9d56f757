#!/bin/sh
# Generates throwaway test certificates (EC P-256) in DIR:
#   ca.crt ca.key                   test CA ("mailaudit test CA")
#   server.crt server.key           signed by ca, SAN DNS:localhost, IP:127.0.0.1, valid now (+3650 days)
#   expired.crt expired.key         signed by ca, same SAN, valid 2020-01-01 .. 2021-01-01 (expired)
#   wrongname.crt wrongname.key     signed by ca, SAN DNS:other.example only
#   selfsigned.crt selfsigned.key   self-signed, SAN DNS:localhost, IP:127.0.0.1
#   untrusted.crt untrusted.key     signed by a second CA (untrusted-ca.crt/.key), same SAN
#
#   sh tests/tools/gencerts.sh DIR
# Every .crt holds the leaf only (Dovecot's ssl_cert takes it as is). Keys are 0600.
set -eu
dir=${1:?usage: gencerts.sh DIR}
command -v openssl >/dev/null 2>&1 || { echo "gencerts.sh: missing dependency: openssl (run make deps)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077
work=$(pwd)/$(mktemp -d gencerts.XXXXXX)
trap 'rm -rf "$work"' EXIT

SAN="subjectAltName=DNS:localhost,IP:127.0.0.1"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

mkca() { # name cn
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 3650 -subj "/O=mailaudit tests/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # name ca san
	key "$1.key"
	openssl req -new -key "$1.key" -out "$work/$1.csr" -subj "/O=mailaudit tests/CN=$1" 2>/dev/null
	printf '%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$3" >"$work/$1.ext"
	openssl x509 -req -in "$work/$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -CAserial "$work/$2.srl" \
		-days 3650 -extfile "$work/$1.ext" -out "$1.crt" 2>/dev/null
}

mkca ca "mailaudit test CA"
mkca untrusted-ca "mailaudit unrelated CA"
leaf server ca "$SAN"
leaf wrongname ca "subjectAltName=DNS:other.example"
leaf untrusted untrusted-ca "$SAN"

# Self-signed leaf (not a CA).
key selfsigned.key
openssl req -x509 -new -key selfsigned.key -out selfsigned.crt -days 3650 -subj "/O=mailaudit tests/CN=localhost" \
	-addext "$SAN" -addext "basicConstraints=CA:FALSE" -addext "extendedKeyUsage=serverAuth" 2>/dev/null

# Expired: OpenSSL 3.0's `x509 -req` cannot back-date, `ca -startdate/-enddate` can.
key expired.key
openssl req -new -key expired.key -out "$work/expired.csr" -subj "/O=mailaudit tests/CN=expired" 2>/dev/null
: >"$work/index.txt"
echo 1000 >"$work/serial"
cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = testca
[ testca ]
database = $work/index.txt
serial = $work/serial
new_certs_dir = $work
certificate = ca.crt
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = leaf_ext
[ anything ]
organizationName = optional
commonName = supplied
[ leaf_ext ]
$SAN
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
EOF
openssl ca -batch -notext -config "$work/ca.cnf" -in "$work/expired.csr" -out expired.crt \
	-startdate 20200101000000Z -enddate 20210101000000Z 2>"$work/ca.err" || { cat "$work/ca.err" >&2; exit 1; }

chmod 0644 ./*.crt
chmod 0600 ./*.key
