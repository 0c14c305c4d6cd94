#!/usr/bin/env bash
# GpuRunScriptSmoke: the one-shot device check, end to end on the CPU, as it will run on a GPU
# machine: bench/gpu/pack.sh bundles the programs, run.sh unpacks and runs every step from the
# bundle (--device cpu --smoke), and every section must have produced its records, fp32 parity must
# pass, the Viterbi paths must agree and the service must have answered without errors. So the
# first real run cannot fail on a mistake this machine could have caught.
#   run_script_smoke.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$(cd "$1" && pwd)
WORK=$BUILD_DIR/gpu-run-smoke
rm -rf "$WORK"
mkdir -p "$WORK"
BUILD_DIR=$BUILD_DIR bash "$ROOT/bench/gpu/pack.sh" "$WORK/bundle"
PY=$ROOT/.venv/bin/python
[[ -x $PY ]] || PY=python3
PYTHON=$PY bash "$ROOT/bench/gpu/run.sh" --bundle "$WORK/bundle" --device cpu --smoke --out "$WORK/out"
"$PY" - "$WORK/out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
records = [json.loads(l) for l in (out / "records.jsonl").read_text().splitlines()]
sections = {r["section"] for r in records}
need = {"gpu_tests", "memory", "parity", "throughput", "e2e", "viterbi", "concurrency", "eager", "service"}
assert need <= sections, f"missing sections: {sorted(need - sections)}"
fp32 = [r for r in records if r["section"] == "parity" and r["precision"] == "fp32"]
assert fp32 and all(r["pass"] for r in fp32), fp32
assert all(r["paths_equal"] and r["streamed_paths_equal"] for r in records if r["section"] == "viterbi")
served = {(r["model"], r["decoder"], r["viterbi_decoding"]) for r in records if r["section"] == "service"}
assert {("tiny", "viterbi", "device"), ("tiny", "viterbi", "host")} <= served, served
assert all(r["failed"] == 0 for r in records if r["section"] == "gpu_tests")
for r in records:
    if r["section"] == "service":
        assert r["in_process"] and r["in_process"]["fps"] > 0, r["in_process"]
        assert all(p["errors"] == 0 and p["served_fps"] > 0 for p in r["points"]), r["points"]
table = (out / "table.md").read_text()
assert "The issue's targets" in table and "| tiny | official | fp32 |" in table, table
print("GpuRunScriptSmoke: every step ran from the bundle; sections:", ", ".join(sorted(sections)))
PY
