#!/usr/bin/env python3
"""Feeds the configuration a rendered overlay gives the gateway container to the gateway's own
`check-config`, so a manifest that would configure a broken gateway fails CI.

    kubectl kustomize deploy/kubernetes/overlays/single > rendered.yaml
    python3 deploy/kubernetes/check-config.py rendered.yaml PUBLISH_DIR [--without SECRET_KEY]

The container's filesystem is rebuilt under a temporary folder: the published gateway at /app, every
ConfigMap mounted where the Deployment mounts it, and the Secrets (which are not in the manifests)
filled with placeholder values for the keys README.md "Deploy on Kubernetes" lists. The container's
environment list is passed as it is, with mounted paths moved under the temporary folder. Exits with
check-config's exit code. (Python because yamllint, which CI installs from Debian, brings PyYAML.)
"""
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

# What an operator puts in each Secret (README.md, "Deploy on Kubernetes"): placeholder values here.
SECRET_KEYS = {
    "ocp-gateway-secrets": {
        "Gateway__TokenClients__ocp__ClientSecret": "placeholder-client-secret",
        "Gateway__InboundAuth__talkdesk__ApiKeys__0": "placeholder-inbound-api-key-0001",
        "Gateway__Delivery__AdminKeys__operator": "placeholder-admin-key-0001",
        "Gateway__Delivery__EncryptionKeys__key-1": "cGxhY2Vob2xkZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmc=",
    },
    "ocp-gateway-store": {
        "ConnectionStrings__Delivery": "Host=postgres.example.invalid;Database=ocp_gateway;Username=ocp_gateway;Password=placeholder",
    },
}


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    rendered, publish = argv[1], argv[2]
    without = set(argv[argv.index("--without") + 1:argv.index("--without") + 2]) if "--without" in argv else set()
    with open(rendered, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in documents if d["kind"] == "ConfigMap"}
    deployment = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "ocp-gateway")
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "gateway")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}

    root = tempfile.mkdtemp(prefix="k8s-check-")
    try:
        app = os.path.join(root, "app")
        shutil.copytree(publish, app)
        mounts = []
        for mount in container.get("volumeMounts", []):
            target = root + mount["mountPath"]
            mounts.append(mount["mountPath"])
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                data = config_maps[volume["configMap"]["name"]]
                if "subPath" in mount:
                    write(target, data[mount["subPath"]])
                else:
                    # A mounted folder hides what the image has there (the shipped schemas).
                    shutil.rmtree(target, ignore_errors=True)
                    for key, value in data.items():
                        write(os.path.join(target, key), value)
            elif "projected" in volume or "secret" in volume:
                sources = volume["projected"]["sources"] if "projected" in volume else [{"secret": volume["secret"]}]
                os.makedirs(target, exist_ok=True)
                for source in sources:
                    name = source["secret"]["secretName" if "secretName" in source["secret"] else "name"]
                    for key, value in SECRET_KEYS[name].items():
                        if key not in without:
                            write(os.path.join(target, key), value)
            else:
                os.makedirs(target, exist_ok=True)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("ASPNETCORE_", "DOTNET_", "Gateway__", "ConnectionStrings__"))}
        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1"
        for variable in container.get("env", []):
            value = variable.get("value", "")
            for path in mounts:
                value = value.replace(path, root + path)
            env[variable["name"]] = value
        # The container reads /run/secrets; here that folder is under the temporary root.
        env["SecretsDirectory"] = root + "/run/secrets"
        return subprocess.run(["dotnet", os.path.join(app, "OcpTalkdesk.Gateway.dll"), "check-config"], cwd=app, env=env).returncode
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
