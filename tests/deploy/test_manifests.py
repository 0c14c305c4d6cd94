#!/usr/bin/env python3
"""The deployment files, checked without running them (needs no Docker engine):

  - docker/k8s/*.yaml against the Kubernetes schemas (kubernetes-validate, strict: unknown fields
    are errors) for the oldest and the newest Kubernetes it knows that we support, and for what
    they must say: GPU limits, gRPC probes, a grace period longer than the server's, a headless
    Service selecting the Deployment's pods, an Indexed Job whose --shard N is its completions;
  - docker/compose.yaml (and with compose.gpu.yaml) as `docker compose config` resolves it:
    replicas, healthcheck, restart policy, limits, stop grace, the balancer as the only published
    gRPC port, one distinct GPU per replica.

Run by ctest (label deploy) with .venv-deploy's Python (tools/test_venv.sh deploy).
"""
import json
import os
import re
import subprocess
import sys

import compose
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(ROOT, "docker", "k8s")
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]  # gRPC probes GA since 1.27; backoffLimitPerIndex 1.29+
COMPOSE = os.path.join(os.path.dirname(compose.__file__), "docker-compose")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def log(msg):
    print(msg, flush=True)


def validate_k8s():
    files = [os.path.join(K8S, f) for f in ("service.yaml", "deployment.yaml", "bulk-job.yaml")]
    validator = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    for version in KUBERNETES_VERSIONS:
        r = subprocess.run([validator, "--strict", "-k", version, *files], capture_output=True, text=True)
        check(r.returncode == 0, f"kubernetes-validate {version}:\n{r.stdout}{r.stderr}")
        log(f"kubernetes-validate --strict -k {version}: {len(files)} manifests pass")
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        listed = yaml.safe_load(f)["resources"]
    check(all(os.path.exists(os.path.join(K8S, r)) for r in listed), f"kustomization lists missing files: {listed}")

    load = lambda name: yaml.safe_load(open(os.path.join(K8S, name)))  # noqa: E731
    dep, svc, job = load("deployment.yaml"), load("service.yaml"), load("bulk-job.yaml")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    check(str(c["resources"]["limits"].get("nvidia.com/gpu")) == "1", "Deployment: no nvidia.com/gpu limit")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        check(c[probe].get("grpc", {}).get("port") == 50051, f"Deployment: {probe} is not a gRPC probe on 50051")
    env = {e["name"]: e.get("value") for e in c["env"]}
    grace = float(env["CREPE_SHUTDOWN_GRACE_S"])
    pre_stop = int(c["lifecycle"]["preStop"]["exec"]["command"][-1])
    check(pod["terminationGracePeriodSeconds"] > grace + pre_stop,
          "Deployment: terminationGracePeriodSeconds must exceed CREPE_SHUTDOWN_GRACE_S plus the preStop pause")
    check(pod["securityContext"]["runAsNonRoot"] is True, "Deployment: not runAsNonRoot")
    check(svc["spec"].get("clusterIP") == "None", "Service: not headless (gRPC would be balanced per connection)")
    check(svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items(),
          "Service: its selector does not select the Deployment's pods")
    js = job["spec"]
    check(js["completionMode"] == "Indexed", "Job: not Indexed")
    args = " ".join(job["spec"]["template"]["spec"]["containers"][0]["args"])
    m = re.search(r"--shard=\$\(JOB_COMPLETION_INDEX\)/(\d+)", args)
    check(m is not None, f"Job: no --shard=$(JOB_COMPLETION_INDEX)/N in {args}")
    check(int(m.group(1)) == js["completions"] == js["parallelism"],
          f"Job: --shard N {m.group(1)}, completions {js['completions']}, parallelism {js['parallelism']} differ")
    check(f"--server={svc['metadata']['name']}:" in args, "Job: does not call the Service")
    log("manifests: GPU limit, gRPC probes, grace period, headless Service, Indexed Job shards: as required")


def compose_config(*files, profiles=(), env=None):
    cmd = [COMPOSE]
    for f in files:
        cmd += ["-f", os.path.join(ROOT, "docker", f)]
    for p in profiles:
        cmd += ["--profile", p]
    r = subprocess.run(cmd + ["config", "--format", "json"], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    check(r.returncode == 0, f"docker compose config {files} {profiles}: {r.stderr}")
    return json.loads(r.stdout)


def validate_compose():
    cfg = cfg_default = compose_config("compose.yaml")
    crepe, lb = cfg["services"]["crepe"], cfg["services"]["lb"]
    check(crepe["deploy"]["replicas"] == 2, "compose: the default is not 2 replicas")
    check(crepe["healthcheck"]["test"][1:3] == ["crepe-client", "health"], "compose: healthcheck is not gRPC health")
    check(crepe["restart"] == "always", "compose: no restart policy")
    check(crepe["deploy"]["resources"]["limits"].get("memory"), "compose: no memory limit")
    check(crepe.get("stop_grace_period"), "compose: no stop grace period")
    check(not crepe.get("ports"), "compose: replicas publish ports (only the balancer should)")
    check([p["target"] for p in lb["ports"]] == [50051, 8404], f"compose: balancer ports {lb['ports']}")
    check("client" not in cfg["services"], "compose: the client service is not behind its profile")
    cfg = compose_config("compose.yaml", env={"CREPE_REPLICAS": "3", "CREPE_DEVICE": "cpu"})
    check(cfg["services"]["crepe"]["deploy"]["replicas"] == 3, "compose: CREPE_REPLICAS is not honoured")
    check(cfg["services"]["crepe"]["environment"]["CREPE_DEVICE"] == "cpu", "compose: CREPE_DEVICE not passed on")
    client = compose_config("compose.yaml", profiles=["client"])["services"]["client"]
    mounts = {v["target"]: v for v in client["volumes"]}
    check(mounts["/data"].get("read_only") is True, "compose: the dataset is not mounted read-only")
    check("/output" in mounts and "--server lb:50051" in " ".join(client["command"]),
          "compose: the client does not write /output through the balancer")
    for profile, n in ((None, 1), ("gpus-2", 2), ("gpus-8", 8)):
        cfg = compose_config("compose.yaml", "compose.gpu.yaml", profiles=[profile] if profile else [])
        replicas = {k: v for k, v in cfg["services"].items() if k == "crepe" or k.startswith("crepe-gpu")}
        check(len(replicas) == n, f"compose.gpu.yaml {profile}: {len(replicas)} replicas, expected {n}")
        ids = []
        for name, s in replicas.items():
            devices = s["deploy"]["resources"]["reservations"]["devices"]
            check(devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"], f"{name}: no GPU reserved")
            ids += devices[0]["device_ids"]
            check(s["environment"]["CREPE_DEVICE"] == "cuda", f"{name}: not on cuda")
            if name != "crepe":
                check("crepe" in s["networks"]["default"]["aliases"], f"{name}: not behind the `crepe` name")
        check(sorted(ids) == [str(i) for i in range(n)], f"compose.gpu.yaml {profile}: GPUs {ids}")
    log("compose: replicas, gRPC healthcheck, restart, limits, stop grace, one published endpoint, "
        "read-only dataset, one GPU per replica: as required")
    metrics_port = crepe["environment"]["CREPE_METRICS_LISTEN"].rsplit(":", 1)[1]
    prometheus = cfg_default["services"]["prometheus"]
    check(metrics_port in [str(p) for p in crepe.get("expose", [])], "compose: the metrics port is not exposed")
    check([p["target"] for p in prometheus["ports"]] == [9090], f"compose: Prometheus ports {prometheus['ports']}")
    with open(os.path.join(ROOT, "docker", "prometheus", "prometheus.yml")) as f:
        scrape = yaml.safe_load(f)["scrape_configs"][0]["dns_sd_configs"][0]
    check(scrape["names"] == ["crepe"] and str(scrape["port"]) == metrics_port,
          f"prometheus.yml does not scrape every replica's metrics port: {scrape}")
    # The secure stack: TLS and tokens on the replicas, TLS on both sides of the balancer.
    cfg = compose_config("compose.yaml", "compose.tls.yaml", profiles=["client"], env={"CREPE_TLS_DIR": "/x"})
    env = cfg["services"]["crepe"]["environment"]
    check(env["CREPE_ALLOW_INSECURE"] == "0" and env["CREPE_TLS_CERT"] and env["CREPE_TOKEN_FILE"],
          f"compose.tls.yaml: replica environment {env}")
    check("--ca" in cfg["services"]["crepe"]["healthcheck"]["test"], "compose.tls.yaml: the health check is not TLS")
    lb_env = cfg["services"]["lb"]["environment"]
    check(lb_env["CREPE_LB_TLS"].startswith("ssl crt ") and "verify required" in lb_env["CREPE_LB_BACKEND_TLS"],
          f"compose.tls.yaml: balancer {lb_env}")
    client_env = cfg["services"]["client"]["environment"]
    check(client_env["CREPE_CLIENT_CA"] and client_env["CREPE_CLIENT_TOKEN_FILE"], "compose.tls.yaml: client")
    log("compose: Prometheus scrapes every replica's metrics port; compose.tls.yaml: TLS end to end and tokens")


if __name__ == "__main__":
    validate_k8s()
    validate_compose()
    log("PASS")
