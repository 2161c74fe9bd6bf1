#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes intervention_golden.json (logits of Hugging Face transformers with the router and the
mixers hooked) next to every fixture's golden.json, for tests/unit/session/test_interventions.cpp.

Runs where transformers >= 5 with NemotronH is installed (a CPU is enough):
    python3 tests/reference/make_intervention_goldens.py FIXTURES_ROOT [--only NAME ...] [--device cpu|cuda]

Each fixture is loaded in float32 with eager attention (make_inspection_goldens.load). The
interventions are applied the way Logitscope defines them (engine/include/logitscope/interventions.h),
through HF's own modules, never by editing the checkpoint:
    mask L:E       the gate's e_score_correction_bias[E] = -inf (HF's router then never selects E
                   and computes the weights of the rest itself)
    force L:F      e_score_correction_bias[F] += 1e4 (F within one expert group, |F| = top-k)
    scale L:routed:X / L:shared:X   a forward hook multiplies the output of mixer.experts (the
                   weighted sum, before fc2_latent_proj) / mixer.shared_experts by X
    skip L         a forward hook replaces the mixer's output by zeros (the block adds nothing)
Every case but "from" runs ONE uncached forward over prompt_ids (intervention on every position). The
"from" case prefills ids[0:p] with the cache and no intervention, then feeds ids[p:] one token at a
time with it on (HF's decode path; checked first to give the uncached logits without interventions).
<dir>/intervention_golden.json:
    prompt_ids   the prompt (T tokens)
    cases        [{"name", "interventions": {"from_position", "masked": [[L or "*", E]], "forced":
                 [[L, [E...]]], "scaled": [[L, "routed"|"shared", X]], "skipped": [L]}, "logits": [T][V]}]
                 rows before from_position are the plain model's
    meta         versions, generator, the largest |logit change| each case makes (so a golden that
                 changes nothing is visible), the cached-path check
Floats are rounded to 7 significant digits; TF32 off; no sampling.
"""
import argparse
import json
import os
import sys

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_inspection_goldens import first, layer_kinds, load, r7  # noqa: E402

GENERATOR = "tests/reference/make_intervention_goldens.py"


class Hooks:
    """Installs one case's interventions on the model; `active` gates them per forward."""

    def __init__(self, model, case):
        self.model, self.case, self.active, self.handles, self.saved, self.fired = model, case, True, [], {}, set()
        layers = model.model.layers
        iv = case["interventions"]
        moe = [L for L in range(len(layers)) if hasattr(getattr(layers[L].mixer, "gate", None), "e_score_correction_bias")]
        self.bias_edits = {}
        for L, e in iv.get("masked", []):
            for layer in (moe if L == "*" else [L]):
                self.bias_edits.setdefault(layer, []).append((e, "mask"))
        for L, experts in iv.get("forced", []):
            for e in experts:
                self.bias_edits.setdefault(L, []).append((e, "force"))
        for L, part, x in iv.get("scaled", []):
            module = layers[L].mixer.experts if part == "routed" else layers[L].mixer.shared_experts
            self.handles.append(module.register_forward_hook(self.scaler(f"scale {L}:{part}", x)))
        for L in iv.get("skipped", []):
            self.handles.append(layers[L].mixer.register_forward_hook(self.zeroer(f"skip {L}")))
        self.set_bias(True)

    def set_bias(self, on):
        layers = self.model.model.layers
        for L, edits in self.bias_edits.items():
            bias = layers[L].mixer.gate.e_score_correction_bias
            if L not in self.saved:
                self.saved[L] = bias.detach().clone()
            with torch.no_grad():
                bias.copy_(self.saved[L])
                if on:
                    for e, kind in edits:
                        bias[e] = float("-inf") if kind == "mask" else bias[e] + 1e4

    def scaler(self, name, x):
        def hook(module, inputs, output):
            if not self.active:
                return None
            self.fired.add(name)
            return output * x if torch.is_tensor(output) else (first(output) * x, *output[1:])
        return hook

    def zeroer(self, name):
        def hook(module, inputs, output):
            if not self.active:
                return None
            self.fired.add(name)
            if torch.is_tensor(output):
                return torch.zeros_like(output)
            return (torch.zeros_like(output[0]), *output[1:])
        return hook

    def activate(self, on):
        self.active = on
        self.set_bias(on)

    def remove(self):
        for h in self.handles:
            h.remove()
        self.set_bias(False)

    def check_fired(self):
        wanted = {f"scale {L}:{p}" for L, p, _ in self.case["interventions"].get("scaled", [])}
        wanted |= {f"skip {L}" for L in self.case["interventions"].get("skipped", [])}
        missing = wanted - self.fired
        assert not missing, f"hooks that never ran (the module layout differs): {sorted(missing)}"


def uncached_logits(model, ids):
    with torch.no_grad():
        return model(ids, use_cache=False).logits[0].float()


def stepwise_logits(model, ids, p, hooks):
    """ids[0:p] as one cached prefill without the interventions, then one token at a time with them."""
    rows = []
    with torch.no_grad():
        hooks.activate(False)
        out = model(ids[:, :p], use_cache=True)
        rows.append(out.logits[0].float())
        cache = out.past_key_values
        hooks.activate(True)
        for t in range(p, ids.shape[1]):
            out = model(ids[:, t:t + 1], past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            rows.append(out.logits[0].float())
    return torch.cat(rows, dim=0)


def cases_for(model, ids):
    config, layers = model.config, model.model.layers
    mamba, moe, attention = layer_kinds(model)
    mlp = [L for L in range(len(layers)) if L not in mamba + moe + attention]
    k, E = config.num_experts_per_tok, config.n_routed_experts
    per_group = E // max(1, config.n_group)
    base = uncached_logits(model, ids)
    cases = []

    def add(name, iv):
        cases.append({"name": name, "interventions": {"from_position": 0, **iv}})

    # The expert of the first MoE layer whose masking changes the logits most.
    best, best_change = 0, -1.0
    for e in range(E):
        hooks = Hooks(model, {"interventions": {"masked": [[moe[0], e]]}})
        change = (uncached_logits(model, ids) - base).abs().max().item()
        hooks.remove()
        if change > best_change:
            best, best_change = e, change
    add(f"mask {moe[0]}:{best}", {"masked": [[moe[0], best]]})
    add(f"mask *:{best}", {"masked": [["*", best]]})
    add(f"force {moe[-1]}", {"forced": [[moe[-1], list(range(per_group - k, per_group))]]})
    add(f"scale {moe[0]}", {"scaled": [[moe[0], "routed", 0.5], [moe[0], "shared", 2.0]]})
    for group in (mamba, attention, moe, mlp):
        if group:
            add(f"skip {group[0]}", {"skipped": [group[0]]})
    return base, cases


def make(model_dir, device):
    with open(os.path.join(model_dir, "golden.json")) as f:
        prompt = json.load(f)["prompt_ids"]
    model = load(model_dir, device)
    ids = torch.tensor([prompt], device=device)
    T = len(prompt)
    base, cases = cases_for(model, ids)
    meta = {"transformers_version": transformers.__version__, "torch_version": torch.__version__,
            "generator": GENERATOR, "change": {}}
    out = []
    for case in cases:
        hooks = Hooks(model, case)
        logits = uncached_logits(model, ids)
        hooks.check_fired()
        hooks.remove()
        meta["change"][case["name"]] = r7((logits - base).abs().max().item())
        out.append({**case, "logits": r7(logits.cpu().tolist())})

    # From the middle on, through HF's cached decode path (checked against the uncached logits).
    p = T // 2
    mamba, moe, _ = layer_kinds(model)
    plain = Hooks(model, {"interventions": {}})
    cached_error = (stepwise_logits(model, ids, p, plain) - base).abs().max().item()
    plain.remove()
    meta["cached_path_max_error"] = r7(cached_error)
    if cached_error < 1e-4:
        iv = {"from_position": p, "masked": [[moe[0], 0]], "scaled": [[moe[0], "shared", 0.5]],
              "skipped": [mamba[0]] if mamba else []}
        case = {"name": f"from {p}", "interventions": iv}
        hooks = Hooks(model, case)
        logits = stepwise_logits(model, ids, p, hooks)
        hooks.check_fired()
        hooks.remove()
        meta["change"][case["name"]] = r7((logits - base).abs().max().item())
        out.append({**case, "logits": r7(logits.cpu().tolist())})
    else:
        print(f"WARNING {model_dir}: HF's cached path differs from its uncached logits by {cached_error:.3g}; "
              f"no 'from' case", flush=True)

    path = os.path.join(model_dir, "intervention_golden.json")
    with open(path, "w") as f:
        json.dump({"prompt_ids": prompt, "cases": out, "meta": meta}, f, separators=(",", ":"))
    print(f"{path}: {len(out)} cases, changes {meta['change']}, cached path {cached_error:.3g}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root", help="tests/fixtures/models")
    parser.add_argument("--only", action="append", help="only this fixture (repeatable)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    print("transformers", transformers.__version__, "torch", torch.__version__, "device", args.device)
    names = sorted(n for n in os.listdir(args.root) if os.path.isfile(os.path.join(args.root, n, "golden.json")))
    missing = sorted(set(args.only or []) - set(names))
    if missing:
        sys.exit(f"no fixture with golden.json named {missing} under {args.root}")
    for name in names:
        if not args.only or name in args.only:
            make(os.path.join(args.root, name), args.device)


if __name__ == "__main__":
    sys.exit(main())
