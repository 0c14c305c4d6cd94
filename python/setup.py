"""Build hook: compiles the service's .proto into crepe_client/_pb at build time.

The .proto is read from ../proto (a checkout) or ./proto (an sdist, which carries a copy). The
generated modules import each other relatively, so they never clash with a top-level `crepe`
package (the original CREPE's). The protobuf runtime the wheel requires is no older than the
protobuf that grpcio-tools generated the stubs with.
"""

import os
import re
import shutil
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join("crepe", "v1", "pitch.proto")


def proto_root():
    for root in (os.environ.get("CREPE_PROTO_DIR"), os.path.join(HERE, "proto"), os.path.join(HERE, "..", "proto")):
        if root and os.path.isfile(os.path.join(root, PROTO)):
            return os.path.normpath(root)
    raise RuntimeError(f"cannot find {PROTO}: build from the repository's python/ folder, or set CREPE_PROTO_DIR")


def generate_stubs(out_dir):
    from grpc_tools import protoc

    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        rc = protoc.main(["grpc_tools.protoc", f"-I{proto_root()}", f"-I{include}", f"--python_out={tmp}",
                          f"--pyi_out={tmp}", f"--grpc_python_out={tmp}", PROTO])
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {PROTO} (exit {rc})")
        os.makedirs(out_dir, exist_ok=True)
        for name in ("pitch_pb2.py", "pitch_pb2.pyi", "pitch_pb2_grpc.py"):
            with open(os.path.join(tmp, "crepe", "v1", name)) as f:
                text = f.read()
            # `from crepe.v1 import pitch_pb2` -> a relative import inside crepe_client._pb
            text = re.sub(r"^from crepe\.v1 import ", "from . import ", text, flags=re.M)
            with open(os.path.join(out_dir, name), "w") as f:
                f.write(text)
    with open(os.path.join(out_dir, "__init__.py"), "w") as f:
        f.write('"""Generated at build time from proto/crepe/v1/pitch.proto; do not edit."""\n')


def runtime_floors():
    """The protobuf and grpcio versions the generated code checks for when it is imported."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_stubs(tmp)
        with open(os.path.join(tmp, "pitch_pb2.py")) as f:
            pb = re.search(r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+)",
                           f.read())
        with open(os.path.join(tmp, "pitch_pb2_grpc.py")) as f:
            rpc = re.search(r"^GRPC_GENERATED_VERSION = '([0-9.]+)'", f.read(), flags=re.M)
    # Older grpcio-tools generate no such checks.
    return ["protobuf>=" + (".".join(pb.groups()) if pb else "4.21"), "grpcio>=" + (rpc.group(1) if rpc else "1.66")]


class BuildPyWithStubs(build_py):
    def run(self):
        super().run()
        generate_stubs(os.path.join(self.build_lib, "crepe_client", "_pb"))


class SdistWithProto(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        target = os.path.join(base_dir, "proto", "crepe", "v1")
        os.makedirs(target, exist_ok=True)
        shutil.copy(os.path.join(proto_root(), PROTO), target)


setup(
    cmdclass={"build_py": BuildPyWithStubs, "sdist": SdistWithProto},
    install_requires=["grpcio-health-checking>=1.66", "googleapis-common-protos>=1.56", "numpy>=1.22"] + runtime_floors(),
)
