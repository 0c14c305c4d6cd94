"""Certificates made at test time with the openssl command (Debian's): a CA, a server certificate
for 127.0.0.1 / localhost, a client certificate from the same CA, and a second CA with a client
certificate of its own (which servers trusting the first must refuse). EC P-256 keys, two days."""

import os
import subprocess


def _openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _ca(name, cwd):
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
              "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}",
              "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], cwd)


def _leaf(name, ca, usage, cwd):
    _openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
              "-out", f"{name}.csr", "-subj", f"/CN={name}"], cwd)
    with open(os.path.join(cwd, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n")
    _openssl(["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
              "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext"], cwd)


def make(directory):
    """Writes the files into `directory`; returns {name: path} for ca, server, client, other_ca,
    other_client (each name's .pem; keys as <name>_key)."""
    os.makedirs(directory, exist_ok=True)
    _ca("ca", directory)
    _ca("other_ca", directory)
    _leaf("server", "ca", "serverAuth", directory)
    _leaf("client", "ca", "clientAuth", directory)
    _leaf("other_client", "other_ca", "clientAuth", directory)
    paths = {}
    for name in ("ca", "other_ca", "server", "client", "other_client"):
        paths[name] = os.path.join(directory, f"{name}.pem")
        paths[f"{name}_key"] = os.path.join(directory, f"{name}.key")
    return paths
