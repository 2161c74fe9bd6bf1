#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prints intervention option sets for one snapshot, one per line, for `logitscope-cli check`
(tools/bench/gpu_session.sh interventions): every kind of intervention, chosen from the snapshot's
own layers and experts, so the CUDA backend is checked against the CPU reference on any model shape.

    python3 tools/bench/intervention_cases.py SNAPSHOT_DIR [--from P]

Lines (a case is left out when the model has nothing for it):
    masks      an expert masked in every MoE layer and another in the first MoE layer
    forced     the first MoE layer forced to k experts (the highest ids), the last to fewer than k
               (k - 1, at least 1), the routed part of a middle one scaled
    parts      the shared expert of the first MoE layer scaled, one Mamba, one attention and one
               MoE layer skipped
    all-from   all of the above from position P (default 5): the rows before run plain
"""
import argparse
import json
import os

PATTERN = {"M": "mamba", "*": "attention", "E": "moe", "-": "mlp"}
BLOCK = {"mamba": "mamba", "linear_attention": "mamba", "M": "mamba", "attention": "attention",
         "full_attention": "attention", "*": "attention", "moe": "moe", "E": "moe", "mlp": "mlp", "-": "mlp"}


def layer_kinds(config):
    if "layers_block_type" in config:
        return [BLOCK[v] for v in config["layers_block_type"]]
    return [PATTERN[c] for c in config["hybrid_override_pattern"]]


def cases(config, from_position):
    kinds = layer_kinds(config)
    moe = [i for i, k in enumerate(kinds) if k == "moe"]
    mamba = [i for i, k in enumerate(kinds) if k == "mamba"]
    attention = [i for i, k in enumerate(kinds) if k == "attention"]
    E, k = config.get("n_routed_experts", 0), config.get("num_experts_per_tok", 0)
    shared = config.get("moe_shared_expert_intermediate_size", 0) and config.get("n_shared_experts", 1)
    out = []
    if not moe:
        return [("parts", [o for L in (mamba[:1] + attention[:1]) for o in ("--skip-layer", str(L))])] if mamba or attention else []
    masks = ["--mask-expert", "*:0"]
    if E - 2 >= k:
        masks += ["--mask-expert", f"{moe[0]}:1"]
    out.append(("masks", masks))
    forced = ["--force-experts", f"{moe[0]}:" + ",".join(str(e) for e in range(E - k, E))]
    if len(moe) > 1:
        forced += ["--force-experts", f"{moe[-1]}:" + ",".join(str(e) for e in range(max(1, k - 1)))]
    if len(moe) > 2:
        forced += ["--scale", f"{moe[1]}:routed:0.5"]
    out.append(("forced", forced))
    parts = []
    if shared:
        parts += ["--scale", f"{moe[0]}:shared:0.25"]
    for group in (mamba, attention, moe[1:] or moe):
        if group:
            parts += ["--skip-layer", str(group[-1])]
    out.append(("parts", parts))
    every = [o for _, options in out for o in options]
    out.append(("all-from", every + ["--intervene-from", str(from_position)]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot")
    parser.add_argument("--from", dest="from_position", type=int, default=5)
    args = parser.parse_args()
    with open(os.path.join(args.snapshot, "config.json")) as f:
        config = json.load(f)
    for name, options in cases(config, args.from_position):
        print(name, " ".join(options))


if __name__ == "__main__":
    main()
