#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes small random NemotronH checkpoints and their golden outputs from Hugging Face transformers.

Runs where transformers >= 5 with NemotronH is installed (the GPU machine; a CPU is enough):
    python3 tests/reference/make_fixtures.py OUT_DIR [--device cuda|cpu] [--only NAME ...]

For each fixture OUT_DIR/<name>/ gets the checkpoint (config.json + safetensors, written by
save_pretrained unless noted) and golden.json:
    prompt_ids       the prompt
    logits           [len(prompt)][vocab] fp32 logits of model(prompt) at every position (no cache)
    prompt_routing   [len(prompt)][moe layer] {"layer": l, "experts": [...], "weights": [...]}
    greedy_ids       greedy continuation computed with the cache (generate, use_cache=True)
    greedy_logits    [n][vocab] the logits each greedy token was chosen from
    greedy_routing   [n][moe layer] routing of the forward that produced each greedy token
Everything runs in float32 so the CPU reference should agree to ~1e-4. Every parameter is
randomised (norm weights, A_log, D, dt_bias, conv, router correction bias) so that indexing bugs
cannot hide behind zeros or ones; dt stays above time_step_min so HF's prefill clamp is a no-op.
"""
import argparse
import inspect
import json
import math
import os
import shutil
import sys

import torch
import transformers
from transformers import NemotronHConfig, NemotronHForCausalLM

KIND_TO_V5 = {"M": "mamba", "*": "attention", "E": "moe", "-": "mlp"}

# Each fixture: a name, the config kwargs, the prompt length, the greedy length, and how to save.
FIXTURES = [
    dict(
        name="tiny-every-kind",
        pattern="M*EM-EM*E",
        save="save_pretrained",
        prompt_len=21, greedy_len=8, seed=1,
        config=dict(vocab_size=256, hidden_size=64,
                    mamba_num_heads=8, mamba_head_dim=16, n_groups=2, ssm_state_size=16,
                    conv_kernel=4, chunk_size=8,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                    n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
                    moe_shared_expert_intermediate_size=48, n_shared_experts=1,
                    n_group=1, topk_group=1, routed_scaling_factor=2.5, norm_topk_prob=True,
                    intermediate_size=96),
    ),
    dict(
        name="tiny-groups-bf16-sharded",
        pattern="MEM*EMEM*E",
        save="save_pretrained_bf16_sharded",
        rewrite_config="hybrid_override_pattern",
        prompt_len=13, greedy_len=6, seed=2,
        config=dict(vocab_size=320, hidden_size=48,
                    mamba_num_heads=4, mamba_head_dim=24, n_groups=4, ssm_state_size=8,
                    conv_kernel=4, chunk_size=4,
                    num_attention_heads=6, num_key_value_heads=3, head_dim=8,
                    n_routed_experts=16, num_experts_per_tok=4, moe_intermediate_size=24,
                    moe_shared_expert_intermediate_size=40, n_shared_experts=1,
                    n_group=4, topk_group=2, routed_scaling_factor=1.7, norm_topk_prob=True,
                    intermediate_size=64),
    ),
    dict(
        name="tiny-fused-experts",
        pattern="EM*ME",
        save="state_dict_fused",
        prompt_len=11, greedy_len=5, seed=3,
        config=dict(vocab_size=200, hidden_size=32,
                    mamba_num_heads=4, mamba_head_dim=8, n_groups=1, ssm_state_size=12,
                    conv_kernel=3, chunk_size=16,
                    num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                    n_routed_experts=12, num_experts_per_tok=3, moe_intermediate_size=20,
                    moe_shared_expert_intermediate_size=28, n_shared_experts=1,
                    n_group=1, topk_group=1, routed_scaling_factor=1.0, norm_topk_prob=False,
                    intermediate_size=40),
    ),
    dict(
        # transformers' own initialisation (only the router bias randomised): small weights, dt_bias
        # near time_step_min, so the prefill dt floor of transformers 5.17 is exercised.
        name="tiny-default-init",
        pattern="MEM*M-E",
        save="save_pretrained", init="default",
        prompt_len=19, greedy_len=6, seed=4,
        config=dict(vocab_size=288, hidden_size=64,
                    mamba_num_heads=16, mamba_head_dim=8, n_groups=4, ssm_state_size=16,
                    conv_kernel=4, chunk_size=8,
                    num_attention_heads=8, num_key_value_heads=2, head_dim=8,
                    n_routed_experts=10, num_experts_per_tok=3, moe_intermediate_size=24,
                    moe_shared_expert_intermediate_size=32, n_shared_experts=1,
                    n_group=1, topk_group=1, routed_scaling_factor=2.5, norm_topk_prob=True,
                    intermediate_size=48),
    ),
    dict(
        # Every optional tensor: latent MoE projections and biases on every linear that has one; bf16.
        name="tiny-latent-biases-bf16",
        pattern="M*E-ME",
        save="save_pretrained_bf16",
        prompt_len=12, greedy_len=5, seed=5,
        config=dict(vocab_size=160, hidden_size=40,
                    mamba_num_heads=4, mamba_head_dim=10, n_groups=2, ssm_state_size=8,
                    conv_kernel=4, chunk_size=4,
                    num_attention_heads=4, num_key_value_heads=4, head_dim=10,
                    n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=20,
                    moe_shared_expert_intermediate_size=24, n_shared_experts=1, moe_latent_size=16,
                    n_group=2, topk_group=1, routed_scaling_factor=1.5, norm_topk_prob=True,
                    intermediate_size=36),
        overrides=dict(use_bias=True, attention_bias=True, mlp_bias=True, use_conv_bias=False),
    ),
    dict(
        # Sizes no other fixture has: head_dim 24 (padded to 32 by the tensor-core attention),
        # 3 Mamba heads per group, group-limited routing that keeps one group of four experts.
        name="tiny-odd-heads",
        pattern="M*EM-EM*E",
        save="save_pretrained",
        prompt_len=23, greedy_len=8, seed=6,
        config=dict(vocab_size=320, hidden_size=96,
                    mamba_num_heads=6, mamba_head_dim=16, n_groups=2, ssm_state_size=16,
                    conv_kernel=4, chunk_size=8,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                    n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=40,
                    moe_shared_expert_intermediate_size=56, n_shared_experts=1,
                    n_group=2, topk_group=1, routed_scaling_factor=1.7, norm_topk_prob=True,
                    intermediate_size=128),
    ),
]


def make_config(spec):
    kwargs = dict(spec["config"])
    kwargs.update(dict(layer_norm_epsilon=1e-5, time_step_min=0.001, time_step_max=0.1,
                       use_conv_bias=True, use_bias=False, attention_bias=False, mlp_bias=False,
                       tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                       mamba_hidden_act="silu", mlp_hidden_act="relu2"))
    kwargs.update(spec.get("overrides", {}))
    kinds = [KIND_TO_V5[c] for c in spec["pattern"]]
    try:
        return NemotronHConfig(layers_block_type=kinds, **kwargs)
    except (TypeError, ValueError) as error:
        print(f"layers_block_type rejected ({error}); using hybrid_override_pattern", flush=True)
        return NemotronHConfig(hybrid_override_pattern=spec["pattern"],
                               num_hidden_layers=len(spec["pattern"]), **kwargs)


def randomise(model, generator):
    """Fills every parameter and the router bias with values that are neither zero nor one."""
    for name, param in model.named_parameters():
        with torch.no_grad():
            if name.endswith("A_log"):
                param.copy_(torch.log(torch.empty_like(param).uniform_(1.0, 8.0, generator=generator)))
            elif name.endswith("dt_bias"):
                dt = torch.empty_like(param).uniform_(0.05, 0.2, generator=generator)
                param.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
            elif name.endswith(".D"):
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5 + 1.0)
            elif "norm" in name:
                param.copy_(1.0 + 0.2 * torch.randn(param.shape, generator=generator))
            elif "conv1d" in name:
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))
            elif "embeddings" in name or "embedding" in name:
                param.copy_(torch.randn(param.shape, generator=generator))
            else:
                fan_in = param.shape[-1] if param.dim() >= 2 else 1
                param.copy_(torch.randn(param.shape, generator=generator) / math.sqrt(fan_in))
    for name, buf in model.named_buffers():
        if name.endswith("e_score_correction_bias"):
            with torch.no_grad():
                buf.copy_(0.1 * torch.randn(buf.shape, generator=generator))


class RoutingRecorder:
    """Records the router's choice for every token of every forward (hooks on the routers)."""

    def __init__(self, model):
        self.calls = []  # list of forwards; each: {layer: (indices [T,k], weights [T,k])}
        self.current = None
        self.handles = []
        for idx, layer in enumerate(model.model.layers):
            gate = getattr(layer.mixer, "gate", None)
            if gate is not None and hasattr(gate, "e_score_correction_bias"):
                self.handles.append(gate.register_forward_hook(self._hook(idx)))

    def _hook(self, layer_idx):
        def hook(module, inputs, output):
            # transformers 5.17: (router_logits, topk_weights, topk_indices); older: (indices, weights)
            if len(output) == 3:
                _, weights, indices = output
            else:
                indices, weights = output
            self.current[layer_idx] = (indices.detach().cpu(), weights.detach().float().cpu())
        return hook

    def begin(self):
        self.current = {}

    def end(self):
        self.calls.append(self.current)
        self.current = None


def routing_rows(call, row):
    out = []
    for layer in sorted(call):
        indices, weights = call[layer]
        # HF's topk(sorted=False) order is arbitrary: sort by weight (then id) for a stable golden.
        pairs = sorted(zip(indices[row].tolist(), weights[row].tolist()), key=lambda p: (-p[1], p[0]))
        out.append({"layer": layer, "experts": [p[0] for p in pairs],
                    "weights": [round(p[1], 7) for p in pairs]})
    return out


def save_checkpoint(model, spec, out_dir):
    if spec["save"] == "save_pretrained":
        model.save_pretrained(out_dir)
    elif spec["save"] == "save_pretrained_bf16":
        model.to(torch.bfloat16).save_pretrained(out_dir)
    elif spec["save"] == "save_pretrained_bf16_sharded":
        model.to(torch.bfloat16).save_pretrained(out_dir, max_shard_size="40KB")
    elif spec["save"] == "state_dict_fused":
        # The in-memory (transformers 5) layout: fused 3-D expert tensors under "model.".
        from safetensors.torch import save_file
        model.config.save_pretrained(out_dir)
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    if spec.get("rewrite_config") == "hybrid_override_pattern":
        # Real checkpoints (Nemotron-3-Nano) spell the layers as a pattern string.
        path = os.path.join(out_dir, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg.pop("layers_block_type", None)
        cfg["hybrid_override_pattern"] = spec["pattern"]
        cfg["num_hidden_layers"] = len(spec["pattern"])
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)


def make_fixture(spec, root, device):
    out_dir = os.path.join(root, spec["name"])
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    torch.manual_seed(spec["seed"])
    generator = torch.Generator().manual_seed(spec["seed"])
    config = make_config(spec)
    model = NemotronHForCausalLM(config).float().eval()
    if spec.get("init") == "default":
        for name, buf in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                with torch.no_grad():
                    buf.copy_(0.05 * torch.randn(buf.shape, generator=generator))
    else:
        randomise(model, generator)
    save_checkpoint(model, spec, out_dir)

    # Reload exactly what was written, computing in float32 (bf16 weights upcast exactly).
    if spec["save"] == "state_dict_fused":
        ref = model
    else:
        ref = NemotronHForCausalLM.from_pretrained(out_dir, dtype=torch.float32)
    ref = ref.to(device).eval()
    ref.generation_config.eos_token_id = None
    recorder = RoutingRecorder(ref)
    vocab = config.vocab_size
    prompt = torch.randint(3, vocab, (1, spec["prompt_len"]), generator=generator)

    # Diagnostic: how many prompt dt values fall under time_step_min (floored by HF's prefill path).
    floored = [0]

    def count_small_dt(mixer):
        def hook(module, inputs, output):
            dt = torch.nn.functional.softplus(output[..., -mixer.num_heads:] + mixer.dt_bias)
            floored[0] += int((dt < config.time_step_min).sum())
        return hook

    handles = []
    for layer in ref.model.layers:
        if hasattr(layer.mixer, "in_proj") and hasattr(layer.mixer, "dt_bias"):
            handles.append(layer.mixer.in_proj.register_forward_hook(count_small_dt(layer.mixer)))
    with torch.no_grad():
        recorder.begin()
        logits = ref(prompt.to(device), use_cache=False).logits[0].float().cpu()
        recorder.end()
    for h in handles:
        h.remove()
    print(f"{spec['name']}: {floored[0]} prompt dt values below time_step_min", flush=True)
    with torch.no_grad():
        prompt_call = recorder.calls[-1]
        recorder.calls.clear()

        recorder.current = {}
        original_forward = ref.forward

        def recording_forward(*a, **kw):
            recorder.begin()
            out = original_forward(*a, **kw)
            recorder.end()
            return out

        ref.forward = recording_forward
        gen = ref.generate(prompt.to(device), max_new_tokens=spec["greedy_len"], do_sample=False,
                           use_cache=True, output_logits=True, return_dict_in_generate=True,
                           pad_token_id=0)
    ref.forward = original_forward
    greedy_ids = gen.sequences[0, spec["prompt_len"]:].tolist()
    greedy_logits = [step[0].float().cpu().tolist() for step in gen.logits]
    # One routing record per generate forward; the last token of each forward chose the next.
    assert len(recorder.calls) >= spec["greedy_len"], len(recorder.calls)
    greedy_routing = []
    for call in recorder.calls[: spec["greedy_len"]]:
        any_layer = next(iter(call.values()))
        greedy_routing.append(routing_rows(call, any_layer[0].shape[0] - 1))

    golden = {
        "generator": "tests/reference/make_fixtures.py",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "pattern": spec["pattern"],
        "prompt_ids": prompt[0].tolist(),
        "logits": [[round(x, 6) for x in row] for row in logits.tolist()],
        "prompt_routing": [routing_rows(prompt_call, t) for t in range(spec["prompt_len"])],
        "greedy_ids": greedy_ids,
        "greedy_logits": [[round(x, 6) for x in row] for row in greedy_logits],
        "greedy_routing": greedy_routing,
    }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    # Sanity: the cached greedy path must agree with the uncached logits on the prompt's last row.
    first = int(torch.tensor(golden["logits"][-1]).argmax())
    assert golden["prompt_routing"][0], "no routing recorded"
    print(f"{spec['name']}: files={sorted(os.listdir(out_dir))} greedy={greedy_ids} "
          f"first-argmax-check={first == greedy_ids[0]}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    # float32 on the CPU is exact and deterministic; the models are tiny.
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sources", help="also write the HF source of the pieces we mirror here")
    parser.add_argument("--only", action="append", help="write only this fixture (repeatable)")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(False)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print("transformers", transformers.__version__, "torch", torch.__version__, "device", args.device)
    if args.sources:
        from transformers.models.nemotron_h import modeling_nemotron_h as mod
        with open(args.sources, "w") as f:
            f.write(inspect.getsource(mod))
    for spec in FIXTURES:
        if not args.only or spec["name"] in args.only:
            make_fixture(spec, args.out, args.device)


if __name__ == "__main__":
    sys.exit(main())
