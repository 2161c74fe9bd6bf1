#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes small NemotronH checkpoints in NVIDIA ModelOpt's FP8 / NVFP4 layout, with goldens.

Runs where make_fixtures.py runs (transformers >= 5 with NemotronH, safetensors; a CPU is enough):
    python3 tests/reference/make_quantized_fixtures.py OUT_DIR [--device cuda|cpu] [--only NAME ...]

Each fixture starts from a fresh random float32 model (make_fixtures.make_config + randomise, own
seed and prompt), saved with save_pretrained as OUT_DIR/<name>-source/ (the unquantized source that
the C++ on-load quantizer reads). OUT_DIR/<name>/ gets:
    config.json, generation_config.json   as save_pretrained wrote them, plus (except tiny-nvfp4) the
                                          flat `quantization_config` (quant_method "modelopt")
    hf_quant_config.json                  the nested ModelOpt form {"producer", "quantization"}
    model.safetensors                     real names (backbone.layers.N.mixer..., per-expert
                                          experts.K.up_proj); quantized Linears replaced as below,
                                          everything else (embeddings, norms, conv1d, A_log, D,
                                          dt_bias, router gate.weight and e_score_correction_bias,
                                          lm_head, unquantized Linears) kept F32
    golden.json                           make_fixtures' format (prompt_ids, logits, prompt_routing,
                                          greedy_ids, greedy_logits, greedy_routing) + "quantization"
                                          and "kv_cache_quant_algo"; computed by HF in float32 from
                                          the DEQUANTIZED weights, i.e. what an exact dequantizing
                                          reference must produce
    quantized_tensors.json                {name: sha256 of the raw little-endian bytes} of every
                                          weight-derived tensor (weight, weight_scale,
                                          weight_scale_2): what a quantizer reading <name>-source
                                          must reproduce byte for byte. input_scale / k_scale /
                                          v_scale are calibration values (random samples), not hashed.

Per quantized Linear `M` (float32 on the CPU whatever --device says; IEEE ops in exactly this order):
  FP8 per tensor   M.weight F8_E4M3 [out,in] = e4m3(clamp(W / s, +-448)), e4m3 = round to nearest
                   even; M.weight_scale F32 [] s = amax(|W|) / 448; M.input_scale F32 [] (random).
  FP8 per channel  as above with M.weight_scale F32 [out], s[r] = amax(|W[r,:]|) / 448; no input_scale.
  NVFP4            M.weight_scale_2 F32 [] g = amax(|W|) / 2688 (= 6*448);
                   s_b = block_amax / (6 * g) per 16 inputs of a row (6*g rounded to fp32 first);
                   s_b == 0 -> 1.0; clamp to <= 448; s_b whose e4m3 would be 0 -> 2^-9;
                   M.weight_scale F8_E4M3 [out,in/16] = e4m3(s_b);
                   x = W / (float(weight_scale) * g) (product rounded to fp32 first);
                   code = E2M1 round-half-to-even of |x| on {0,.5,1,1.5,2,3,4,6}, saturating at 6,
                   | 8 if x < 0 (tiny negatives give 8 = -0);
                   M.weight U8 [out,in/2], byte j of a row = code[2j] | code[2j+1] << 4;
                   M.input_scale F32 [] (random activation amax / 2688).
Dequantized (golden) weights: FP8 float(q) * s; NVFP4 (e2m1(code) * float(weight_scale)) * g
(the first product is exact, so each weight is the correctly rounded fp32 of its true value).

Fixtures (pattern M*EM-EM*E, every input width a multiple of 16):
  tiny-fp8          FP8 per tensor on every Linear (Mamba in/out, attention q/k/v/o, routed and
                    shared experts, dense MLP); exclude_modules ["lm_head"]. Both declarations.
  tiny-fp8-channel  FP8_PER_CHANNEL_PER_TOKEN: per-row weight_scale [out], no input_scale.
  tiny-nvfp4        NVFP4 with Nemotron-3-Nano-NVFP4's exclusions: lm_head, every attention
                    q/k/v/o_proj, in/out_proj of each Mamba layer directly before an attention
                    layer, every Mamba conv1d (exact names). ONLY hf_quant_config.json, no
                    quantization_config in config.json (the ModelOpt 0.29 variant NVIDIA shipped).
  tiny-nvfp4-mixed  MIXED_PRECISION: routed + shared experts NVFP4, Mamba in/out FP8 per tensor,
                    attention and the dense MLP unquantized; quantized_layers lists every quantized
                    Linear by full name in both declarations.
  tiny-fp8-kv       tiny-fp8 plus an FP8 KV cache (kv_cache_quant_algo "FP8") and per attention
                    layer backbone.layers.N.mixer.k_proj.k_scale / v_proj.v_scale (F32 [], != 1.0:
                    0.75 / 1.25 x a calibration forward's K / V amax / 448, rounded to bf16
                    precision; the largest K entries may saturate at 448).
                    ITS GOLDEN INCLUDES THE KV ROUNDING: k_proj/v_proj outputs (HF applies no RoPE,
                    so this is exactly what is cached) are replaced by
                    float(e4m3(clamp(k / k_scale, +-448))) * k_scale (same for v), in the prompt
                    forward and in every cached generate step.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import NemotronHForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures  # noqa: E402

BASE_CONFIG = dict(vocab_size=256, hidden_size=64,
                   mamba_num_heads=8, mamba_head_dim=16, n_groups=2, ssm_state_size=16,
                   conv_kernel=4, chunk_size=8,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                   n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
                   moe_shared_expert_intermediate_size=48, n_shared_experts=1,
                   n_group=1, topk_group=1, routed_scaling_factor=2.5, norm_topk_prob=True,
                   intermediate_size=96)

QFIXTURES = [
    dict(name="tiny-fp8", algo="FP8", kv=None, seed=101, prompt_len=17, greedy_len=6),
    dict(name="tiny-fp8-channel", algo="FP8_PER_CHANNEL_PER_TOKEN", kv=None, seed=102,
         prompt_len=15, greedy_len=6),
    dict(name="tiny-nvfp4", algo="NVFP4", kv=None, seed=103, prompt_len=19, greedy_len=6,
         config_json=False),
    dict(name="tiny-nvfp4-mixed", algo="MIXED_PRECISION", kv=None, seed=104, prompt_len=14,
         greedy_len=6),
    dict(name="tiny-fp8-kv", algo="FP8", kv="FP8", seed=105, prompt_len=20, greedy_len=8),
]
for _spec in QFIXTURES:
    _spec.update(pattern="M*EM-EM*E", config=BASE_CONFIG)

PRODUCER = {"name": "modelopt", "version": "0.29.0"}
FP8_MAX = 448.0
NVFP4_GROUP = 16
E2M1_VALUES = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0,
                            -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0])
E2M1_BOUNDS = torch.tensor([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])
LINEAR = re.compile(r"^(.*layers\.(\d+)\.mixer\.(in_proj|out_proj|[qkvo]_proj|up_proj|down_proj|"
                    r"experts\.\d+\.(?:up|down)_proj|shared_experts\.(?:up|down)_proj))\.weight$")


# ----------------------------------------------------------------------------- quantization math
def to_e4m3(x):
    """Saturating fp32 -> float8_e4m3fn, round to nearest even (torch's cast alone gives NaN > 448)."""
    return x.clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)


def quantize_fp8(w, per_channel):
    amax = w.abs().amax(dim=1) if per_channel else w.abs().amax()
    assert bool((amax > 0).all()), "all-zero weight"
    scale = amax / FP8_MAX
    q = to_e4m3(w / (scale[:, None] if per_channel else scale))
    return q.contiguous(), scale.contiguous()


def e2m1_codes(x):
    """E2M1 codes of x: round half to even on the magnitude, saturating at 6; sign bit 8 if x < 0."""
    a = x.abs()
    code = (a.unsqueeze(-1) > E2M1_BOUNDS).sum(dim=-1)  # number of bounds strictly below |x|
    code = code + ((a == 0.75) | (a == 1.75) | (a == 3.5)).long()  # ties that round up to even
    return (code | ((x < 0).long() << 3)).to(torch.uint8)


def quantize_nvfp4(w):
    rows, cols = w.shape
    assert cols % NVFP4_GROUP == 0, f"input width {cols} is not a multiple of {NVFP4_GROUP}"
    amax = w.abs().amax()
    assert float(amax) > 0, "all-zero weight"
    scale_2 = amax / (6.0 * FP8_MAX)
    blocks = w.reshape(rows, cols // NVFP4_GROUP, NVFP4_GROUP)
    s_b = blocks.abs().amax(dim=-1) / (6.0 * scale_2)
    s_b = torch.where(s_b == 0, torch.ones_like(s_b), s_b).clamp(max=FP8_MAX)
    underflow = s_b.to(torch.float8_e4m3fn).float() == 0
    s_b = torch.where(underflow, torch.full_like(s_b, 2.0 ** -9), s_b)
    block_scale = s_b.to(torch.float8_e4m3fn)
    x = blocks / (block_scale.float() * scale_2).unsqueeze(-1)
    codes = e2m1_codes(x).reshape(rows, cols)
    packed = codes[:, 0::2] | (codes[:, 1::2] << 4)
    assert torch.equal(unpack_nvfp4(packed), codes)
    return packed.contiguous(), block_scale.contiguous(), scale_2.contiguous()


def unpack_nvfp4(packed):
    return torch.stack([packed & 0x0F, packed >> 4], dim=-1).reshape(packed.shape[0], -1)


def dequantize_nvfp4(packed, block_scale, scale_2):
    values = E2M1_VALUES[unpack_nvfp4(packed).long()]
    rows, cols = values.shape
    blocks = values.reshape(rows, cols // NVFP4_GROUP, NVFP4_GROUP)
    return ((blocks * block_scale.float().unsqueeze(-1)) * scale_2).reshape(rows, cols)


def input_scale(generator, in_features, maxbound):
    """A static activation scale from a random "calibration" sample (unused by a weight-only reader)."""
    sample = torch.randn(64, in_features, generator=generator)
    return (sample.abs().amax() / maxbound).contiguous()


# ----------------------------------------------------------------------------- checkpoint layout
def plan(spec, module):
    """The format of one checkpoint Linear here: "FP8", "FP8_PC", "NVFP4" or None (unquantized)."""
    m = LINEAR.match(module + ".weight")
    layer, leaf, pattern, algo = int(m.group(2)), m.group(3), spec["pattern"], spec["algo"]
    kind = ("mamba" if leaf in ("in_proj", "out_proj") else "expert" if "experts" in leaf else
            "attention" if leaf in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp")
    assert make_fixtures.KIND_TO_V5[pattern[layer]] == {"expert": "moe"}.get(kind, kind), module
    if algo in ("FP8", "FP8_PER_CHANNEL_PER_TOKEN"):
        return "FP8" if algo == "FP8" else "FP8_PC"
    if algo == "NVFP4":  # Nemotron-3-Nano-NVFP4's rule
        before_attention = layer + 1 < len(pattern) and pattern[layer + 1] == "*"
        return None if kind == "attention" or (kind == "mamba" and before_attention) else "NVFP4"
    assert algo == "MIXED_PRECISION", algo
    return {"expert": "NVFP4", "mamba": "FP8"}.get(kind)


def load_dir(path):
    state = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".safetensors"):
            state.update({k: v.clone() for k, v in load_file(os.path.join(path, name)).items()})
    return state


def copy_configs(src, dst):
    """config.json, generation_config.json, ...: everything save_pretrained wrote except weights."""
    for name in os.listdir(src):
        if not (name.endswith(".safetensors") or name.endswith(".safetensors.index.json")):
            shutil.copy(os.path.join(src, name), os.path.join(dst, name))


def config_group(fmt):
    bits = 4 if fmt == "NVFP4" else 8
    weights = {"dynamic": False, "num_bits": bits, "type": "float"}
    if fmt == "NVFP4":
        weights["group_size"] = NVFP4_GROUP
    acts = dict(weights)
    if fmt == "FP8_PER_CHANNEL_PER_TOKEN":  # dynamic per-token activations, per-channel weights
        acts.update(dynamic=True, strategy="token")
        weights["strategy"] = "channel"
    return {"input_activations": acts, "weights": weights, "targets": ["Linear"]}


def write_declarations(spec, out_dir, formats, exclude):
    """hf_quant_config.json (nested) and, unless config_json is False, config.json's flat form."""
    algo = spec["algo"]
    if algo == "MIXED_PRECISION":
        layers = {m: ({"quant_algo": "FP8"} if f == "FP8" else
                      {"quant_algo": "NVFP4", "group_size": NVFP4_GROUP})
                  for m, f in sorted(formats.items()) if f}
        nested = {"producer": PRODUCER, "quantization": {
            "quant_algo": algo, "kv_cache_quant_algo": None, "quantized_layers": layers}}
        groups = {}
        for i, fmt in enumerate(("FP8", "NVFP4")):
            groups[f"group_{i}"] = dict(config_group(fmt),
                                        targets=sorted(m for m, f in formats.items() if f == fmt))
        flat = {"config_groups": groups, "ignore": [], "kv_cache_scheme": None,
                "producer": PRODUCER, "quant_algo": algo, "quant_method": "modelopt",
                "quantized_layers": layers}
    else:
        quantization = {"quant_algo": algo, "kv_cache_quant_algo": spec["kv"]}
        if algo == "NVFP4":
            quantization["group_size"] = NVFP4_GROUP
        quantization["exclude_modules"] = exclude
        nested = {"producer": PRODUCER, "quantization": quantization}
        kv_scheme = {"dynamic": False, "num_bits": 8, "type": "float"} if spec["kv"] == "FP8" else None
        flat = {"config_groups": {"group_0": config_group(algo)}, "ignore": exclude,
                "kv_cache_scheme": kv_scheme, "producer": PRODUCER, "quant_algo": algo,
                "quant_method": "modelopt"}
    with open(os.path.join(out_dir, "hf_quant_config.json"), "w") as f:
        json.dump(nested, f, indent=2)
    if spec.get("config_json", True):
        path = os.path.join(out_dir, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["quantization_config"] = flat
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)


# ----------------------------------------------------------------------------- golden
def live_weight(ref, module):
    """The loaded HF model's tensor for a checkpoint Linear name (experts are fused 3-D in memory)."""
    m = re.match(r"^.*layers\.(\d+)\.mixer\.(.*)$", module)
    mixer = ref.model.layers[int(m.group(1))].mixer
    expert = re.match(r"^experts\.(\d+)\.(up_proj|down_proj)$", m.group(2))
    if expert:
        return getattr(mixer.experts, expert.group(2))[int(expert.group(1))]
    obj = mixer
    for part in m.group(2).split("."):
        obj = getattr(obj, part)
    return obj.weight


def fp8_kv_roundtrip(t, scale):
    """What an FP8 KV cache stores and reads back: float(e4m3_satfinite(t / scale)) * scale."""
    return to_e4m3(t / scale).to(t.dtype) * scale


def add_kv_cache(ref, prefix, generator, vocab, device, quant):
    """Calibrates k_scale/v_scale per attention layer, stores them in `quant`, hooks the rounding."""
    amax, handles = {}, []

    def record(key):
        def hook(module, inputs, output):
            amax[key] = max(amax.get(key, 0.0), float(output.detach().abs().amax()))
        return hook

    attention = [i for i, layer in enumerate(ref.model.layers) if hasattr(layer.mixer, "k_proj")]
    for i in attention:
        for proj in ("k_proj", "v_proj"):
            handles.append(getattr(ref.model.layers[i].mixer, proj).register_forward_hook(record((i, proj))))
    calib = torch.randint(3, vocab, (1, 16), generator=generator)
    with torch.no_grad():
        ref(calib.to(device), use_cache=False)
    for h in handles:
        h.remove()
    # 0.75 x amax/448 for K (its largest entries saturate), 1.25 x for V; rounded to bf16 precision so
    # that ulp-level differences between devices in the calibration forward cannot change them.
    for i in attention:
        for proj, factor in (("k_proj", 0.75), ("v_proj", 1.25)):
            scale = torch.tensor(factor * amax[(i, proj)] / FP8_MAX).to(torch.bfloat16).float()
            assert 0 < float(scale) != 1.0, scale
            quant[f"{prefix}layers.{i}.mixer.{proj}.{proj[0]}_scale"] = scale.contiguous()

            def hook(module, inputs, output, scale=scale.to(device)):
                return fp8_kv_roundtrip(output, scale)
            getattr(ref.model.layers[i].mixer, proj).register_forward_hook(hook)
    return attention


def compute_golden(spec, ref, prompt, device):
    """make_fixtures.make_fixture's golden procedure (same fields), on an already loaded model."""
    ref.generation_config.eos_token_id = None
    recorder = make_fixtures.RoutingRecorder(ref)
    with torch.no_grad():
        recorder.begin()
        logits = ref(prompt.to(device), use_cache=False).logits[0].float().cpu()
        recorder.end()
        prompt_call = recorder.calls[-1]
        recorder.calls.clear()
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
    assert len(recorder.calls) >= spec["greedy_len"], len(recorder.calls)
    greedy_routing = []
    for call in recorder.calls[: spec["greedy_len"]]:
        any_layer = next(iter(call.values()))
        greedy_routing.append(make_fixtures.routing_rows(call, any_layer[0].shape[0] - 1))
    golden = {
        "generator": "tests/reference/make_quantized_fixtures.py",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "pattern": spec["pattern"],
        "quantization": spec["algo"],
        "kv_cache_quant_algo": spec["kv"],
        "prompt_ids": prompt[0].tolist(),
        "logits": [[round(x, 6) for x in row] for row in logits.tolist()],
        "prompt_routing": [make_fixtures.routing_rows(prompt_call, t) for t in range(spec["prompt_len"])],
        "greedy_ids": greedy_ids,
        "greedy_logits": [[round(x, 6) for x in row] for row in greedy_logits],
        "greedy_routing": greedy_routing,
    }
    assert golden["prompt_routing"][0], "no routing recorded"
    first = int(torch.tensor(golden["logits"][-1]).argmax())
    print(f"{spec['name']}: greedy={greedy_ids} first-argmax-check={first == greedy_ids[0]}", flush=True)
    return golden


# ----------------------------------------------------------------------------- one fixture
def make_quantized_fixture(spec, root, device):
    name = spec["name"]
    out_dir, src_dir = os.path.join(root, name), os.path.join(root, name + "-source")
    for d in (out_dir, src_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    torch.manual_seed(spec["seed"])
    generator = torch.Generator().manual_seed(spec["seed"])
    config = make_fixtures.make_config(spec)
    model = NemotronHForCausalLM(config).float().eval()
    make_fixtures.randomise(model, generator)
    prompt = torch.randint(3, config.vocab_size, (1, spec["prompt_len"]), generator=generator)
    model.save_pretrained(src_dir)
    del model

    source = load_dir(src_dir)
    assert all(t.dtype == torch.float32 for t in source.values()), "source must be float32"
    modules = sorted(LINEAR.match(k).group(1) for k in source if LINEAR.match(k))
    assert any(".experts.0.up_proj" in m for m in modules), "expected per-expert checkpoint names"
    prefix = re.match(r"^(.*)layers\.\d+\.", modules[0]).group(1)
    formats = {m: plan(spec, m) for m in modules}

    calib = torch.Generator().manual_seed(spec["seed"] + 1000)
    quant, dequant, hashed, max_err = {}, {}, [], 0.0
    for m in modules:
        fmt, w = formats[m], source[m + ".weight"]
        if fmt is None:
            continue
        assert w.dim() == 2, (m, w.shape)
        if fmt in ("FP8", "FP8_PC"):
            q, scale = quantize_fp8(w, per_channel=fmt == "FP8_PC")
            quant[m + ".weight"], quant[m + ".weight_scale"] = q, scale
            if fmt == "FP8":
                quant[m + ".input_scale"] = input_scale(calib, w.shape[1], FP8_MAX)
            dequant[m] = q.float() * (scale[:, None] if scale.dim() == 1 else scale)
            hashed += [m + ".weight", m + ".weight_scale"]
        else:
            packed, block_scale, scale_2 = quantize_nvfp4(w)
            quant[m + ".weight"], quant[m + ".weight_scale"] = packed, block_scale
            quant[m + ".weight_scale_2"] = scale_2
            quant[m + ".input_scale"] = input_scale(calib, w.shape[1], 6.0 * FP8_MAX)
            dequant[m] = dequantize_nvfp4(packed, block_scale, scale_2)
            hashed += [m + ".weight", m + ".weight_scale", m + ".weight_scale_2"]
        assert dequant[m].shape == w.shape and torch.isfinite(dequant[m]).all()
        max_err = max(max_err, float((dequant[m] - w).abs().max() / w.abs().max()))
    print(f"{name}: {len(dequant)}/{len(modules)} Linears quantized, "
          f"max |dequant - W| / amax(W) = {max_err:.4f}", flush=True)

    # The golden model: the dequantized weights in the source layout, loaded by HF in float32.
    with tempfile.TemporaryDirectory() as tmp:
        copy_configs(src_dir, tmp)
        deq_state = dict(source)
        for m, w in dequant.items():
            deq_state[m + ".weight"] = w.contiguous()
        save_file(deq_state, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        ref = NemotronHForCausalLM.from_pretrained(tmp, dtype=torch.float32).to(device).eval()
        for m, w in dequant.items():
            live = live_weight(ref, m).detach().float().cpu()
            assert torch.equal(live, w) or (live.shape == w.t().shape and torch.equal(live, w.t())), \
                f"{m} did not load"
        if spec["kv"] == "FP8":
            kv_gen = torch.Generator().manual_seed(spec["seed"] + 2000)
            layers = add_kv_cache(ref, prefix, kv_gen, config.vocab_size, device, quant)
            print(f"{name}: FP8 KV rounding hooked on attention layers {layers}", flush=True)
        golden = compute_golden(spec, ref, prompt, device)
        del ref

    # The quantized checkpoint.
    copy_configs(src_dir, out_dir)
    state = {k: v for k, v in source.items() if not (LINEAR.match(k) and formats[LINEAR.match(k).group(1)])}
    overlap = set(state) & set(quant)
    assert not overlap, overlap
    state.update(quant)
    path = os.path.join(out_dir, "model.safetensors")
    save_file({k: v.contiguous() for k, v in sorted(state.items())}, path, metadata={"format": "pt"})
    with open(path, "rb") as f:
        data = f.read()
    base = 8 + struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:base])
    expect = {"weight": {"FP8": "F8_E4M3", "FP8_PC": "F8_E4M3", "NVFP4": "U8"},
              "weight_scale": {"FP8": "F32", "FP8_PC": "F32", "NVFP4": "F8_E4M3"}}
    for k in quant:  # the header says what the C++ loader will see
        m, leaf = k.rsplit(".", 1)
        want = expect.get(leaf, {}).get(formats.get(m), "F32")
        scalar = leaf not in expect or (leaf == "weight_scale" and formats[m] == "FP8")
        assert header[k]["dtype"] == want and (header[k]["shape"] == []) == scalar, (k, header[k])
    hashes = {k: hashlib.sha256(data[base + header[k]["data_offsets"][0]:
                                     base + header[k]["data_offsets"][1]]).hexdigest()
              for k in sorted(hashed)}
    with open(os.path.join(out_dir, "quantized_tensors.json"), "w") as f:
        json.dump(hashes, f, indent=1, sort_keys=True)

    conv1d = [f"{prefix}layers.{i}.mixer.conv1d" for i, c in enumerate(spec["pattern"]) if c == "M"]
    exclude = ["lm_head"]
    if spec["algo"] == "NVFP4":
        exclude += [m for m in modules if formats[m] is None] + conv1d
    write_declarations(spec, out_dir, formats, sorted(exclude))
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"{name}: files={sorted(os.listdir(out_dir))} exclude={sorted(exclude)}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    # The quantization always runs in float32 on the CPU; --device only moves the golden model.
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", action="append", help="write only this fixture (repeatable)")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print("transformers", transformers.__version__, "torch", torch.__version__, "device", args.device)
    names = [spec["name"] for spec in QFIXTURES]
    for wanted in args.only or []:
        if wanted not in names:
            parser.error(f"unknown fixture {wanted}; known: {names}")
    for spec in QFIXTURES:
        if not args.only or spec["name"] in args.only:
            make_quantized_fixture(spec, args.out, args.device)


if __name__ == "__main__":
    sys.exit(main())
