#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes inspect_golden.json (per-layer internals from Hugging Face transformers) next to golden.json.

Runs where transformers >= 5 with NemotronH is installed (a CPU is enough):
    python3 tests/reference/make_inspection_goldens.py FIXTURES_ROOT [--only NAME ...]
                                                      [--extra DIR ...] [--device cpu|cuda]

Every FIXTURES_ROOT/<name>/ holding golden.json (and every --extra DIR, e.g. resources/demo-model)
is loaded in float32 with eager attention; golden.json's prompt_ids (T tokens, positions t = 0..T-1)
go through ONE uncached forward (use_cache=False) observed with forward hooks. Layers i = 0..n-1 are
numbered in stack order (model.model.layers[i]); h_i is the OUTPUT of block i, the residual stream
after layer i (residual + mixer(norm(residual))), before block i+1's norm. <dir>/inspect_golden.json:
    prompt_ids        the prompt
    lens              for p in [T//2, T-1]: {"pos": p, "layers": [{"layer": i, "logprobs": [V]} for
                      every layer i]}, logprobs = log_softmax(lm_head(norm_f(h_i[p]))) (logit lens);
                      for the last layer this is the model's own output at p (checked to < 1e-4)
    router            [{"layer": L, "logits": [T][E]}] for every MoE layer L: the router's raw logits
                      x @ gate.weight^T in fp32, x = the MoE mixer's input at t (the block norm's
                      output), before the sigmoid and before e_score_correction_bias
    mamba_dt          [{"layer": L, "dt": [T][H], "dt_clamped": [T][H]}] for every Mamba layer L
                      (H = mamba_num_heads): dt = softplus(dt_raw + dt_bias), dt_raw = the last H
                      channels of in_proj's output at t, no clamp; dt_clamped = clamp(dt,
                      time_step_limit[0], time_step_limit[1]) (= dt for the default (0, inf) limit).
                      HF's prefill also floors dt at time_step_min internally (transformers 5.17);
                      neither field applies that floor.
    mamba_state_norm  [{"layer": L, "norm": [H]}]: per head, the L2 norm over (mamba_head_dim,
                      ssm_state_size) of the SSM state after the whole prompt, read from HF's cache
                      after a second forward over the prompt with use_cache=True (meta names the
                      attribute); compared with a sequential recurrence over the recorded conv1d
                      output (x, B) and dt floored at time_step_min or clamped to the limit
    attention         [{"layer": L, "weights": [heads][T][T]}] for every attention layer L:
                      post-softmax probabilities of each query head (num_attention_heads),
                      row = query position, column = key position (0 above the diagonal)
    meta              transformers_version, torch_version, generator, the layer kinds, where the
                      router logits and SSM states came from, and the largest relative difference
                      between the cached SSM states and the recurrence
Floats are rounded to 7 significant digits. Everything runs in float32 with TF32 off; no sampling.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
import transformers
from transformers import NemotronHConfig, NemotronHForCausalLM

GENERATOR = "tests/reference/make_inspection_goldens.py"


def r7(value):
    """Rounds a nested list of floats to 7 significant digits."""
    return [r7(v) for v in value] if isinstance(value, list) else float(f"{value:.7g}")


def first(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def load(model_dir, device):
    model, info = NemotronHForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager", use_mamba_kernels=False,
        output_loading_info=True)
    get = info.get if isinstance(info, dict) else (lambda k: getattr(info, k, None))
    bad = [k for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if get(k)]
    if bad:
        # tiny-fused-experts holds the in-memory layout (model.*, fused 3-D experts): load it as is.
        from safetensors.torch import load_file
        print(f"{model_dir}: from_pretrained reported {bad}; loading model.safetensors directly")
        config = NemotronHConfig.from_pretrained(model_dir, use_mamba_kernels=False)
        config._attn_implementation = "eager"
        model = NemotronHForCausalLM(config)
        state = load_file(os.path.join(model_dir, "model.safetensors"))
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    model.config._attn_implementation = "eager"
    return model.float().to(device).eval()


def layer_kinds(model):
    mamba, moe, attention = [], [], []
    for i, layer in enumerate(model.model.layers):
        mixer = layer.mixer
        if hasattr(mixer, "in_proj") and hasattr(mixer, "dt_bias"):
            mamba.append(i)
        elif hasattr(getattr(mixer, "gate", None), "e_score_correction_bias"):
            moe.append(i)
        elif hasattr(mixer, "q_proj") and hasattr(mixer, "o_proj"):
            attention.append(i)
    return mamba, moe, attention


def hook(store, key, fn):
    def record(module, inputs, output):
        store[key] = fn(module, inputs, output)
    return record


def router_logits(module, inputs, output):
    """The gate's raw logits: output[0] in transformers 5.17 ((logits, weights, indices)) or the output
    itself if it is one tensor; recomputed as F.linear(x, weight) in fp32 if that is not raw logits."""
    ref = F.linear(inputs[0].reshape(-1, module.weight.shape[-1]).float(), module.weight.float())
    got = first(output)
    if torch.is_tensor(got) and got.shape == ref.shape and torch.allclose(got.float(), ref, 1e-5, 1e-5):
        return got.float().cpu(), "gate output[0]" if isinstance(output, (tuple, list)) else "gate output"
    return ref.cpu(), "F.linear(gate input, gate.weight): the gate's output is not the raw logits"


def state_tensors(obj, shape, where, depth=0):
    """(tensor, attribute path) for every tensor under `obj` (attributes, lists, dicts; two levels deep)
    whose trailing dimensions are `shape` = (H, P, N): the SSM state, whatever the cache class calls it."""
    if torch.is_tensor(obj):
        return [(obj, where)] if obj.dim() >= 3 and tuple(obj.shape[-3:]) == shape else []
    if depth > 2 or obj is None or isinstance(obj, (str, int, float, bool)):
        return []
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        items = vars(obj).items() if hasattr(obj, "__dict__") else []
    out = []
    for name, value in items:
        out += state_tensors(value, shape, f"{where}.{name}" if not isinstance(name, int) else f"{where}[{name}]", depth + 1)
    return out


def cached_states(model, ids, mamba):
    """Prefills with use_cache=True (the model makes its cache); {layer: (SSM state, attribute)}. The
    state is the tensor of shape [..., H, P, N] held for that layer: cache.layers[L] (transformers 5),
    else cache.ssm_states[L] (the older HybridMambaAttentionDynamicCache); found by shape, so a renamed
    attribute still matches, and the attribute path is recorded in meta."""
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    found, layers = {}, getattr(cache, "layers", None)
    for L in mamba:
        mixer = model.model.layers[L].mixer
        shape = (mixer.num_heads, mixer.head_dim, mixer.ssm_state_size)
        candidates = []
        if layers is not None and L < len(layers):
            candidates = state_tensors(layers[L], shape, "cache.layers[i]")
        states = getattr(cache, "ssm_states", None)
        if not candidates and isinstance(states, (list, tuple)) and L < len(states):
            candidates = state_tensors(states[L], shape, "cache.ssm_states[i]")
        if not candidates and torch.is_tensor(states) and states.dim() >= 4 and L < states.shape[0]:
            candidates = state_tensors(states[L], shape, "cache.ssm_states[i]")
        if len({w for _, w in candidates}) > 1:
            print(f"WARNING layer {L}: several tensors have the SSM state's shape: {[w for _, w in candidates]}", flush=True)
        if candidates:
            state, where = candidates[0]
            found[L] = (state.float().reshape(-1, *shape)[0].clone(), where)
        else:
            print(f"WARNING layer {L}: no tensor of shape {shape} in the cache ({type(cache).__name__}: "
                  f"{sorted(vars(cache)) if hasattr(cache, '__dict__') else '?'})", flush=True)
    return found


def scan_state(mixer, conv_out, dt):
    """Sequential recurrence s_t = exp(dt_t A) s_{t-1} + dt_t x_t B_t^T per head; returns s_T [H,P,N]."""
    T, H, P, N, G = dt.shape[0], mixer.num_heads, mixer.head_dim, mixer.ssm_state_size, mixer.n_groups
    xbc = mixer.act(conv_out[:, :T].t())  # [T, conv_dim], as HF: act(conv1d(xBC)[..., :T])
    x, B, _ = xbc.split([H * P, G * N, G * N], dim=-1)
    x, B = x.reshape(T, H, P), B.reshape(T, G, N).repeat_interleave(H // G, dim=1)  # head h: group h*G//H
    A = -torch.exp(mixer.A_log.float())
    s = torch.zeros(H, P, N, dtype=torch.float32, device=dt.device)
    for t in range(T):
        s = s * torch.exp(dt[t] * A)[:, None, None] + dt[t][:, None, None] * x[t][:, :, None] * B[t][:, None]
    return s


def inspect_model(model_dir, device):
    with open(os.path.join(model_dir, "golden.json")) as f:
        golden = json.load(f)
    prompt, T = golden["prompt_ids"], len(golden["prompt_ids"])
    model = load(model_dir, device)
    layers, config = model.model.layers, model.config
    mamba, moe, attention = layer_kinds(model)
    ids = torch.tensor([prompt], device=device)

    hidden, dt_raw, conv, gate, attn, handles = {}, {}, {}, {}, {}, []
    for i, layer in enumerate(layers):  # the block's output: the residual stream after layer i
        handles.append(layer.register_forward_hook(hook(hidden, i, lambda m, a, o: first(o)[0].clone())))
    for L in mamba:
        mixer = layers[L].mixer
        handles.append(mixer.in_proj.register_forward_hook(
            hook(dt_raw, L, lambda m, a, o, H=mixer.num_heads: o[0, :, -H:].float().clone())))
        handles.append(mixer.conv1d.register_forward_hook(hook(conv, L, lambda m, a, o: o[0].clone())))
    for L in moe:
        handles.append(layers[L].mixer.gate.register_forward_hook(hook(gate, L, router_logits)))
    for L in attention:  # eager attention returns (output, weights [1, heads, T, T])
        handles.append(layers[L].mixer.register_forward_hook(hook(attn, L, lambda m, a, o: o[1])))
    with torch.no_grad():
        out = model(ids, use_cache=False, output_attentions=True)
        for h in handles:
            h.remove()
        logits = out.logits[0].float()
        if "logits" in golden:
            diff = (logits.cpu() - torch.tensor(golden["logits"])).abs().max().item()
            assert diff < 1e-3, f"{model_dir}: logits differ from golden.json by {diff}"
        ref = F.log_softmax(logits, dim=-1)

        lens = []
        for p in sorted({T // 2, T - 1}):
            rows = []
            for i in range(len(layers)):
                lp = F.log_softmax(model.lm_head(model.model.norm_f(hidden[i][p])).float(), dim=-1)
                rows.append({"layer": i, "logprobs": r7(lp.cpu().tolist())})
            diff = (lp - ref[p]).abs().max().item()
            assert diff < 1e-4, f"{model_dir}: last layer's lens at {p} differs from the logits by {diff}"
            lens.append({"pos": p, "layers": rows})

        for L in moe:
            assert gate[L][0].shape == (T, config.n_routed_experts), (L, gate[L][0].shape)
        router = [{"layer": L, "logits": r7(gate[L][0].tolist())} for L in moe]

        mamba_dt, floored, limited = [], {}, {}
        for L in mamba:
            mixer = layers[L].mixer
            # The raw softplus: HF's prefill floors it at time_step_min internally; not applied here.
            dt = F.softplus(dt_raw[L] + mixer.dt_bias.float())
            limit = getattr(mixer, "time_step_limit", None) or getattr(config, "time_step_limit", None)
            lo, hi = (float(limit[0]), float(limit[1])) if limit is not None else (0.0, math.inf)
            floored[L], limited[L] = dt.clamp(min=float(getattr(mixer, "time_step_min", config.time_step_min))), dt.clamp(min=lo, max=hi)
            mamba_dt.append({"layer": L, "dt": r7(dt.cpu().tolist()),
                             "dt_clamped": r7(limited[L].cpu().tolist())})

        found = cached_states(model, ids, mamba)
        state_norm, sources, worst = [], set(), 0.0
        for L in mamba:
            mixer = layers[L].mixer
            H, P, N = mixer.num_heads, mixer.head_dim, mixer.ssm_state_size
            # The cross-check needs conv1d's output; HF's pure-PyTorch path may not call the module.
            scans = [scan_state(mixer, conv[L].float(), d) for d in (floored[L], limited[L])] if L in conv else []
            state, where = found.get(L, (None, None))
            if state is None or state.numel() != H * P * N:  # fall back to the recurrence
                print(f"WARNING {model_dir}: no usable cache state for layer {L}: "
                      f"{where} {None if state is None else tuple(state.shape)}", flush=True)
                if not scans:
                    continue
                state, where = scans[0], "sequential recurrence (dt floored at time_step_min)"
            state = state.reshape(H, P, N)
            err = min(((s - state).abs().max() / state.abs().max().clamp_min(1e-30)).item() for s in scans) if scans else 0.0
            worst = max(worst, err)
            if err > 1e-4:
                print(f"WARNING {model_dir}: layer {L}: the cached SSM state differs from the recurrence "
                      f"by {err:.3g} of its largest element", flush=True)
            sources.add(where)
            state_norm.append({"layer": L, "norm": r7(state.reshape(H, -1).norm(dim=-1).cpu().tolist())})

        attention_out = []
        for k, L in enumerate(attention):
            w = attn.get(L)
            w = (out.attentions[k] if w is None else w).float().reshape(-1, T, T)
            assert w.shape[0] == config.num_attention_heads, (L, tuple(w.shape))
            attention_out.append({"layer": L, "weights": r7(w.cpu().tolist())})

    meta = {"transformers_version": transformers.__version__, "torch_version": torch.__version__,
            "generator": GENERATOR, "layers": {"mamba": mamba, "moe": moe, "attention": attention},
            "router_source": sorted({gate[L][1] for L in moe}), "mamba_state_source": sorted(sources),
            "mamba_state_vs_recurrence_rel_err": r7(worst)}
    result = {"prompt_ids": prompt, "lens": lens, "router": router, "mamba_dt": mamba_dt,
              "mamba_state_norm": state_norm, "attention": attention_out, "meta": meta}
    path = os.path.join(model_dir, "inspect_golden.json")
    with open(path, "w") as f:
        json.dump(result, f, separators=(",", ":"))
    print(f"{path}: T={T} mamba={mamba} moe={moe} attention={attention} "
          f"router={meta['router_source']} state={meta['mamba_state_source']} "
          f"state-vs-recurrence={worst:.3g}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root", help="tests/fixtures/models")
    parser.add_argument("--only", action="append", help="only this fixture (repeatable)")
    parser.add_argument("--extra", action="append", default=[],
                        help="another model folder with golden.json, e.g. resources/demo-model")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before CUDA starts
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    torch.manual_seed(0)
    print("transformers", transformers.__version__, "torch", torch.__version__, "device", args.device)
    names = sorted(n for n in os.listdir(args.root)
                   if os.path.isfile(os.path.join(args.root, n, "golden.json")))
    missing = sorted(set(args.only or []) - set(names))
    if missing:
        sys.exit(f"no fixture with golden.json named {missing} under {args.root}")
    for model_dir in [os.path.join(args.root, n) for n in names if not args.only or n in args.only]:
        inspect_model(model_dir, args.device)
    for model_dir in args.extra:
        inspect_model(model_dir, args.device)


if __name__ == "__main__":
    sys.exit(main())
