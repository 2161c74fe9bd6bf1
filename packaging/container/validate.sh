#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks that compose.yaml parses and resolves: `docker compose config` (Compose v2) where it works,
# else `docker-compose config` (Debian's docker-compose 1.29), else a YAML parse with python3-yaml
# plus a check of the expected services, profiles, read-only cache mount and VNC port.
# Needs no Docker engine. Exit 77 (skipped) when none of the three tools is there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
file="$here/compose.yaml"
if docker compose version >/dev/null 2>&1; then
  docker compose -f "$file" --profile lab --profile vllm config >/dev/null && echo "docker compose config: ok"
elif command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f "$file" --profile lab --profile vllm config >/dev/null && echo "docker-compose config: ok"
fi
command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null || { echo "python3-yaml missing"; exit 77; }
python3 - "$file" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
s = doc["services"]
assert set(s) == {"workbench", "lab", "vllm"}, s.keys()
assert "profiles" not in s["workbench"] and s["lab"]["profiles"] == ["lab"] and s["vllm"]["profiles"] == ["vllm"]
for name, svc in s.items():
    assert any(v.endswith(":/hf-cache:ro") for v in svc["volumes"]), f"{name}: HF cache not mounted read-only"
assert any(p.endswith(":5900") for p in s["workbench"]["ports"]), "VNC port not published"
assert s["workbench"]["environment"]["QT_QPA_PLATFORM"].startswith("vnc:port=5900")
print("compose.yaml (python3 yaml): services", ", ".join(s), "ok")
PY
