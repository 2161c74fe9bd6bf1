#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Trains Logitscope's toy demo model: a tiny Nemotron-H (every layer kind) on GCIDE chats.

Runs on the GPU machine (torch, transformers >= 5.17 with NemotronH, HF `tokenizers`, jinja2):
    python3 tools/demo-model/train.py --data .deps/demo-data --out OUT_DIR [--train-seconds 170]
    python3 tools/demo-model/train.py --data .deps/demo-data --out OUT_DIR --from-checkpoint DIR
The data comes from tools/demo-model/prepare_data.py. Steps, all into OUT_DIR:
  1. a byte-level BPE tokenizer.json (HF tokenizers) with Nemotron's special-token ids
     (<unk>=0 <s>=1 </s>=2, <SPECIAL_3..9> reserved, <|im_start|>=10 <|im_end|>=11 <think>=12
     </think>=13), plus tokenizer_config.json and chat_template.jinja;
  2. the model: NemotronHForCausalLM from transformers, trained with AdamW on every token of the
     packed chats for a fixed wall-clock budget; the router is kept balanced with the
     auxiliary-loss-free bias update (e_score_correction_bias) plus a small load-balancing loss;
  3. save_pretrained in bf16 (router bias kept fp32), config.json marked "logitscope_demo": true,
     generation_config.json with eos [<|im_end|>, </s>];
  4. golden.json in the format of tests/reference/make_fixtures.py, computed in float32 from the
     saved file, on a chat prompt;
  5. SAMPLES.md: greedy and sampled answers with thinking on and off; train_log.json (loss curve).
With --from-checkpoint the tokenizer and model are read from DIR and only steps 4-5 run.
"""
import argparse
import gzip
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import NemotronHConfig, NemotronHForCausalLM

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
from make_fixtures import KIND_TO_V5, RoutingRecorder, routing_rows  # noqa: E402

TEMPLATE = os.path.join(REPO, "resources", "demo-model", "chat_template.jinja")
SPECIALS = (["<unk>", "<s>", "</s>"] + [f"<SPECIAL_{i}>" for i in range(3, 10)]
            + ["<|im_start|>", "<|im_end|>", "<think>", "</think>"])
PAD, BOS, EOS, IM_START, IM_END, THINK, END_THINK = 0, 1, 2, 10, 11, 12, 13
NOT_SPECIAL = {"<think>", "</think>"}  # like Qwen3: kept in decoded text, still one token each

PATTERN = "MEM*EM-EM*E"  # 4 Mamba-2, 4 MoE, 2 attention, 1 dense MLP
MODEL = dict(hidden_size=128,
             mamba_num_heads=8, mamba_head_dim=32, n_groups=2, ssm_state_size=32, conv_kernel=4,
             chunk_size=16,
             num_attention_heads=4, num_key_value_heads=2, head_dim=32,
             n_routed_experts=16, num_experts_per_tok=2, moe_intermediate_size=64,
             moe_shared_expert_intermediate_size=128, n_shared_experts=1,
             n_group=1, topk_group=1, routed_scaling_factor=2.5, norm_topk_prob=True,
             intermediate_size=256, max_position_embeddings=4096)

SAMPLE_WORDS = ["lantern", "apple", "quiet", "river", "lighthouse", "blorptic"]


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------- data + tokenizer
def load_chats(data_dir):
    with gzip.open(os.path.join(data_dir, "chats.jsonl.gz"), "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    held = []
    path = os.path.join(data_dir, "held_out.txt")
    if os.path.exists(path):
        held = [w.strip() for w in open(path) if w.strip()]
    return rows, held


def train_tokenizer(texts, vocab_size, out_dir):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False,
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in SPECIALS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())

    def plain(batch=2048):  # the merges are learnt from the words only, not the chat markup
        for i in range(0, len(texts), batch):
            chunk = texts[i:i + batch]
            for t in SPECIALS:
                chunk = [c.replace(t, "") for c in chunk]
            yield chunk

    tok.train_from_iterator(plain(), trainer=trainer, length=len(texts))
    spec = json.loads(tok.to_str())
    for added in spec["added_tokens"]:
        if added["content"] in NOT_SPECIAL:
            added["special"] = False
        added["normalized"] = False
    tok = Tokenizer.from_str(json.dumps(spec))
    for i, t in enumerate(SPECIALS):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    tok.save(os.path.join(out_dir, "tokenizer.json"), pretty=True)
    return tok


def write_tokenizer_side_files(out_dir, template_text):
    config = {
        "add_bos_token": False, "add_eos_token": False,
        "bos_token": "<s>", "eos_token": "<|im_end|>", "unk_token": "<unk>", "pad_token": "<unk>",
        "clean_up_tokenization_spaces": False, "model_max_length": 4096,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": template_text,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
    with open(os.path.join(out_dir, "chat_template.jinja"), "w") as f:
        f.write(template_text)


def pack(seqs, length):
    """Packs whole chats into rows of length+1 tokens that start at a chat; pads with PAD."""
    rows, lens, cur = [], [], []
    for ids in seqs:
        ids = ids[: length + 1]
        if len(cur) + len(ids) > length + 1:
            lens.append(len(cur))
            rows.append(cur + [PAD] * (length + 1 - len(cur)))
            cur = []
        cur = cur + ids
    if cur:
        lens.append(len(cur))
        rows.append(cur + [PAD] * (length + 1 - len(cur)))
    data = torch.tensor(rows, dtype=torch.long)
    valid = torch.arange(length + 1)[None, :] < torch.tensor(lens)[:, None]
    return data, valid


# ----------------------------------------------------------------------------- model
def make_config(vocab_size):
    kwargs = dict(MODEL)
    kwargs.update(dict(vocab_size=vocab_size, layer_norm_epsilon=1e-5, time_step_min=0.001,
                       time_step_max=0.1, use_conv_bias=True, use_bias=False, attention_bias=False,
                       mlp_bias=False, tie_word_embeddings=False, bos_token_id=BOS,
                       eos_token_id=EOS, pad_token_id=PAD, mamba_hidden_act="silu",
                       mlp_hidden_act="relu2", initializer_range=0.02))
    kinds = [KIND_TO_V5[c] for c in PATTERN]
    try:
        return NemotronHConfig(layers_block_type=kinds, **kwargs)
    except (TypeError, ValueError) as error:
        log(f"layers_block_type rejected ({error}); using hybrid_override_pattern")
        return NemotronHConfig(hybrid_override_pattern=PATTERN, num_hidden_layers=len(PATTERN), **kwargs)


def set_experts_impl(model, name):
    for fn in ("set_experts_implementation",):
        if hasattr(model, fn):
            try:
                getattr(model, fn)(name)
                return
            except Exception as error:  # noqa: BLE001 - older/newer API: fall through
                log(f"{fn}({name!r}) failed: {error}")
    model.config._experts_implementation = name


def gates(model):
    out = []
    for layer in model.model.layers:
        gate = getattr(layer.mixer, "gate", None)
        if gate is not None and hasattr(gate, "e_score_correction_bias"):
            out.append(gate)
    return out


class RouterTap:
    """Keeps each router's (logits, indices) of the last forward, for the balance terms."""

    def __init__(self, model):
        self.out = {}
        for i, gate in enumerate(gates(model)):
            gate.register_forward_hook(self._hook(i))

    def _hook(self, i):
        def hook(module, inputs, output):
            self.out[i] = (output[0], output[-1])
        return hook


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def train(args, tok, rows, device):
    texts = [r["text"] for r in rows]
    t0 = time.time()
    seqs = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    n_tokens = sum(len(s) for s in seqs)
    log(f"tokenized {len(seqs)} chats: {n_tokens} tokens ({n_tokens / len(seqs):.1f}/chat, "
        f"max {max(len(s) for s in seqs)}) in {time.time() - t0:.1f}s")
    order = list(range(len(seqs)))
    random.Random(7).shuffle(order)
    n_val = max(64, len(order) // 50)
    val_data, val_valid = pack([seqs[i] for i in order[:n_val]], args.seq_len)
    data, valid = pack([seqs[i] for i in order[n_val:]], args.seq_len)
    log(f"packed: train {tuple(data.shape)} ({valid.float().mean():.3f} filled), val {tuple(val_data.shape)}")
    data, valid, val_data, val_valid = (t.to(device) for t in (data, valid, val_data, val_valid))

    torch.manual_seed(0)
    config = make_config(tok.get_vocab_size())
    model = NemotronHForCausalLM(config).to(device)
    log(f"model: {count_params(model) / 1e6:.3f} M parameters; experts implementation "
        f"{getattr(model.config, '_experts_implementation', None)!r}")
    tap = RouterTap(model)
    moe_gates = gates(model)
    E, K = config.n_routed_experts, config.num_experts_per_tok

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "embeddings" not in name else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def batch(src, ok, idx):
        x = src[idx, :-1]
        y = src[idx, 1:].masked_fill(~ok[idx, 1:], -100)
        return x, y

    def forward_loss(x, y):
        logits = model(input_ids=x, use_cache=False).logits
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)

    def balance_terms():
        aux, loads = 0.0, []
        for i in range(len(moe_gates)):
            logits, idx = tap.out[i]
            scores = logits.float().sigmoid()
            p = (scores / scores.sum(-1, keepdim=True)).mean(0)
            counts = torch.bincount(idx.reshape(-1), minlength=E).float()
            aux = aux + (counts * E / idx.numel() * p).sum()
            loads.append(counts)
        return aux, loads

    @torch.no_grad()
    def evaluate():
        model.eval()
        losses = []
        for s in range(0, val_data.shape[0], args.batch):
            idx = torch.arange(s, min(s + args.batch, val_data.shape[0]), device=device)
            x, y = batch(val_data, val_valid, idx)
            losses.append(forward_loss(x, y).item())
        model.train()
        return sum(losses) / len(losses)

    # A first step under the default experts implementation; eager if that one cannot train.
    model.train()
    gen = torch.Generator(device=device).manual_seed(0)
    idx = torch.randint(0, data.shape[0], (args.batch,), device=device, generator=gen)
    try:
        x, y = batch(data, valid, idx)
        forward_loss(x, y).backward()
    except Exception as error:  # noqa: BLE001
        log(f"default experts implementation failed in training ({error!r}); using eager")
        set_experts_impl(model, "eager")
        forward_loss(*batch(data, valid, idx)).backward()
    opt.zero_grad(set_to_none=True)

    curve, step, start = [], 0, time.time()
    budget, warmup = args.train_seconds, 100
    while True:
        elapsed = time.time() - start
        if elapsed >= budget or (args.max_steps and step >= args.max_steps):
            break
        progress = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, data.shape[0], (args.batch,), device=device, generator=gen)
        x, y = batch(data, valid, idx)
        loss = forward_loss(x, y)
        aux, loads = balance_terms()
        (loss + args.aux_weight * aux).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():  # auxiliary-loss-free balancing (DeepSeek-V3): nudge the selection bias
            for gate, counts in zip(moe_gates, loads):
                gate.e_score_correction_bias += args.bias_rate * torch.sign(counts.mean() - counts)
        if step % 50 == 0:
            l, aux = loss.item(), aux.item()
            load_cv = torch.stack([c / c.sum() for c in loads]).std(-1).mean().item() * E
            curve.append({"step": step, "seconds": round(time.time() - start, 1), "loss": round(l, 4),
                          "lr": round(lr, 6), "aux": round(aux, 4), "load_cv": round(load_cv, 3)})
            if step % 200 == 0:
                log(f"step {step:5d}  {time.time() - start:6.1f}s  loss {l:.4f}  lr {lr:.2e}  "
                    f"aux {aux:.3f}  load cv {load_cv:.3f}")
        step += 1
    train_seconds = time.time() - start
    val = evaluate()
    log(f"trained {step} steps in {train_seconds:.1f}s ({step * args.batch * args.seq_len / train_seconds / 1e3:.0f}k "
        f"token slots/s); final train loss {curve[-1]['loss'] if curve else float('nan')}; val loss {val:.4f}")
    stats = {"steps": step, "train_seconds": round(train_seconds, 1), "val_loss": round(val, 4),
             "final_train_loss": curve[-1]["loss"] if curve else None,
             "batch": args.batch, "seq_len": args.seq_len, "lr": args.lr,
             "chats": len(seqs), "tokens": n_tokens, "train_rows": int(data.shape[0]),
             "parameters": count_params(model), "curve": curve,
             "card": torch.cuda.get_device_name(0) if device == "cuda" else "cpu"}
    return model, stats


def save_model(model, out_dir):
    model.eval()
    biases = {i: g.e_score_correction_bias.detach().float().clone() for i, g in enumerate(gates(model))}
    model.to(torch.bfloat16)
    for i, g in enumerate(gates(model)):  # the router bias stays fp32 (it decides top-k)
        g.register_buffer("e_score_correction_bias", biases[i].to(g.weight.device))
    model.save_pretrained(out_dir)
    path = os.path.join(out_dir, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["logitscope_demo"] = True
    cfg["dtype"] = "bfloat16"
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": BOS, "eos_token_id": [IM_END, EOS], "pad_token_id": PAD,
                   "transformers_version": transformers.__version__}, f, indent=2)


# ----------------------------------------------------------------------------- golden + samples
def sync_router_bias_from_file(ref, out_dir):
    """The golden must describe the file: check that loading kept the router bias buffers."""
    from safetensors.torch import load_file
    state = {}
    for name in os.listdir(out_dir):
        if name.endswith(".safetensors"):
            state.update(load_file(os.path.join(out_dir, name)))
    for i, layer in enumerate(ref.model.layers):
        gate = getattr(layer.mixer, "gate", None)
        if gate is None or not hasattr(gate, "e_score_correction_bias"):
            continue
        key = next(k for k in state if k.endswith(f"layers.{i}.mixer.gate.e_score_correction_bias"))
        want = state[key].float().to(gate.e_score_correction_bias.device)
        if not torch.equal(gate.e_score_correction_bias, want):
            log(f"WARNING: layer {i} router bias differs after loading ({state[key].dtype} in file); using the file's")
            gate.e_score_correction_bias.copy_(want)


def render(template, messages, thinking):
    return template.render(messages=messages, add_generation_prompt=True, enable_thinking=thinking,
                           tools=None, documents=None)


def write_golden(ref, tok, template, out_dir, device, greedy_len=24):
    text = render(template, [{"role": "user", "content": "What does 'lantern' mean?"}], True)
    prompt_ids = tok.encode(text, add_special_tokens=False).ids
    prompt = torch.tensor([prompt_ids])
    recorder = RoutingRecorder(ref)
    min_dt = {}
    handles = []
    for i, layer in enumerate(ref.model.layers):
        mixer = layer.mixer
        if hasattr(mixer, "dt_bias"):
            def hook(module, inputs, output, mixer=mixer, i=i):
                dt = F.softplus(output[..., -mixer.num_heads:].float() + mixer.dt_bias.float())
                min_dt[i] = min(min_dt.get(i, 1e9), dt.min().item())
            handles.append(mixer.in_proj.register_forward_hook(hook))
    original_forward = ref.forward
    try:
        golden = _golden_forwards(ref, recorder, prompt, device, greedy_len)
    finally:
        ref.forward = original_forward
        for h in handles + recorder.handles:
            h.remove()
    logits, prompt_call, gen = golden
    return _write_golden(ref, tok, text, prompt_ids, logits, prompt_call, gen, recorder, min_dt,
                         out_dir, greedy_len)


def _golden_forwards(ref, recorder, prompt, device, greedy_len):
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
        saved_eos = ref.generation_config.eos_token_id
        ref.generation_config.eos_token_id = None
        gen = ref.generate(prompt.to(device), max_new_tokens=greedy_len, do_sample=False, use_cache=True,
                           output_logits=True, return_dict_in_generate=True, pad_token_id=PAD)
        ref.generation_config.eos_token_id = saved_eos
    return logits, prompt_call, gen


def _write_golden(ref, tok, text, prompt_ids, logits, prompt_call, gen, recorder, min_dt, out_dir,
                  greedy_len):
    greedy_ids = gen.sequences[0, len(prompt_ids):].tolist()
    greedy_logits = [step[0].float().cpu().tolist() for step in gen.logits]
    greedy_routing = []
    for call in recorder.calls[:greedy_len]:
        any_layer = next(iter(call.values()))
        greedy_routing.append(routing_rows(call, any_layer[0].shape[0] - 1))
    golden = {
        "generator": "tools/demo-model/train.py (format of tests/reference/make_fixtures.py)",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "pattern": PATTERN,
        "prompt_text": text,
        "prompt_ids": prompt_ids,
        "logits": [[round(x, 6) for x in row] for row in logits.tolist()],
        "prompt_routing": [routing_rows(prompt_call, t) for t in range(len(prompt_ids))],
        "greedy_ids": greedy_ids,
        "greedy_text": tok.decode(greedy_ids, skip_special_tokens=False),
        "greedy_logits": [[round(x, 6) for x in row] for row in greedy_logits],
        "greedy_routing": greedy_routing,
        # Smallest softplus(dt) seen per Mamba layer over the prompt and the greedy steps. HF's
        # PyTorch path (used here, as in training) floors dt at time_step_min over a prompt but not
        # in a cached single-token step; the CPU reference engine does the same.
        "min_dt": {str(k): round(v, 6) for k, v in sorted(min_dt.items())},
    }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    first = int(torch.tensor(golden["logits"][-1]).argmax())
    log(f"golden: prompt {len(prompt_ids)} tokens, greedy {greedy_ids} = {golden['greedy_text']!r}; "
        f"first-argmax-check={first == greedy_ids[0]}; min dt per Mamba layer {golden['min_dt']}")
    return golden


def check_hf_tokenizer(out_dir, tok, template):
    """Does transformers itself load our files and render/encode the same way?"""
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(out_dir)
    msgs = [{"role": "user", "content": "What does 'lantern' mean?"}]
    for thinking in (True, False):
        ours = render(template, msgs, thinking)
        theirs = hf.apply_chat_template(msgs, add_generation_prompt=True, enable_thinking=thinking, tokenize=False)
        ids_ours = tok.encode(ours, add_special_tokens=False).ids
        ids_hf = hf(ours, add_special_tokens=False)["input_ids"]
        log(f"HF tokenizer check (thinking={thinking}): template same={ours == theirs}, ids same={ids_ours == ids_hf}")
    log(f"eos {hf.eos_token!r}={hf.eos_token_id} bos {hf.bos_token!r}={hf.bos_token_id} vocab {len(hf)}")


def samples(ref, tok, template, held, device, out_path, stats):
    lines = ["# Demo model samples", "",
             "Written by `tools/demo-model/train.py` right after training (HF transformers, float32, "
             "from the saved bf16 weights). Greedy unless marked sampled (temperature 0.8, top-k 40, seed 0). "
             f"Held out of training: {', '.join(held) or 'none'}; `blorptic` is not a word.", ""]
    if stats:
        lines += [f"Training: {stats['steps']} steps, {stats['train_seconds']} s on {stats['card']}, "
                  f"final train loss {stats['final_train_loss']}, validation loss {stats['val_loss']}.", ""]
    torch.manual_seed(0)
    for word in SAMPLE_WORDS:
        for thinking in (True, False):
            for sampled in ((False, True) if word in ("lantern", "river") else (False,)):
                msgs = [{"role": "user", "content": f"What does '{word}' mean?"}]
                text = render(template, msgs, thinking)
                ids = torch.tensor([tok.encode(text, add_special_tokens=False).ids], device=device)
                kw = dict(do_sample=True, temperature=0.8, top_k=40) if sampled else dict(do_sample=False)
                with torch.no_grad():
                    out = ref.generate(ids, max_new_tokens=90, eos_token_id=[IM_END, EOS],
                                       pad_token_id=PAD, use_cache=True, **kw)
                new = out[0, ids.shape[1]:].tolist()
                gen_text = tok.decode(new, skip_special_tokens=False)
                tag = f"{word} | thinking {'on' if thinking else 'off'}{' | sampled' if sampled else ''}"
                log(f"--- {tag}\n{gen_text}")
                prompt_tail = "<think>\n" if thinking else "<think></think>"
                lines += [f"## {tag}", "", "```", f"[prompt ends] {prompt_tail!r}", gen_text, "```", ""]
    with open(out_path, "w") as f:
        f.write("\n".join(lines))


def routing_summary(ref, tok, template, device):
    """Per MoE layer: share of tokens per expert over the sample prompts; top expert per token of one."""
    texts = [render(template, [{"role": "user", "content": f"What does '{w}' mean?"}], t)
             for w in SAMPLE_WORDS for t in (True, False)]
    recorder = RoutingRecorder(ref)
    loads = {}
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([tok.encode(text, add_special_tokens=False).ids], device=device)
            recorder.begin()
            ref(ids, use_cache=False)
            recorder.end()
    for call in recorder.calls:
        for layer, (indices, _) in call.items():
            loads.setdefault(layer, torch.zeros(ref.config.n_routed_experts))
            loads[layer] += torch.bincount(indices.reshape(-1), minlength=ref.config.n_routed_experts).float()
    for h in recorder.handles:
        h.remove()
    first = recorder.calls[0]  # "lantern", thinking on: the first-choice expert of every token
    words = [tok.id_to_token(t) for t in tok.encode(texts[0], add_special_tokens=False).ids]
    for layer, (indices, weights) in sorted(first.items()):
        top = indices.gather(1, weights.argmax(1, keepdim=True))[:, 0].tolist()
        log(f"layer {layer} top expert per token: " + " ".join(f"{w}:{e}" for w, e in zip(words, top)))
    out = {}
    for layer, c in sorted(loads.items()):
        share = (c / c.sum()).tolist()
        out[str(layer)] = [round(s, 3) for s in share]
        log(f"layer {layer} expert share: " + " ".join(f"{s:.2f}" for s in share))
    return out


# ----------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--train-seconds", type=float, default=170)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--aux-weight", type=float, default=1e-3)
    parser.add_argument("--bias-rate", type=float, default=1e-3)
    parser.add_argument("--from-checkpoint", help="skip training: read tokenizer + model from here")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log(f"transformers {transformers.__version__} torch {torch.__version__} device {device} "
        f"{torch.cuda.get_device_name(0) if device == 'cuda' else ''}")
    os.makedirs(args.out, exist_ok=True)
    import jinja2
    from jinja2.ext import loopcontrols
    with open(TEMPLATE, encoding="utf-8") as f:
        template_text = f.read()
    template = jinja2.Environment(trim_blocks=True, lstrip_blocks=True,
                                  extensions=[loopcontrols]).from_string(template_text)
    rows, held = load_chats(args.data)
    log(f"{len(rows)} chats, {sum(r['thinking'] for r in rows)} with thinking")

    stats = None
    if args.from_checkpoint:
        from tokenizers import Tokenizer
        if os.path.abspath(args.from_checkpoint) != os.path.abspath(args.out):
            for name in os.listdir(args.from_checkpoint):
                shutil.copy(os.path.join(args.from_checkpoint, name), args.out)
        tok = Tokenizer.from_file(os.path.join(args.out, "tokenizer.json"))
        log_path = os.path.join(args.out, "train_log.json")
        if os.path.exists(log_path):
            with open(log_path) as f:
                stats = json.load(f)
    else:
        t0 = time.time()
        tok = train_tokenizer([r["text"] for r in rows], args.vocab, args.out)
        log(f"tokenizer: {tok.get_vocab_size()} tokens in {time.time() - t0:.1f}s")
        write_tokenizer_side_files(args.out, template_text)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        model, stats = train(args, tok, rows, device)
        try:
            save_model(model, args.out)
        except Exception:  # keep the weights so a second run (--from-checkpoint) need not retrain
            torch.save(model.state_dict(), os.path.join(args.out, "state_dict.pt"))
            with open(os.path.join(args.out, "train_log.json"), "w") as f:
                json.dump(stats, f, indent=1)
            raise
        del model
    write_tokenizer_side_files(args.out, template_text)

    # Everything below runs in float32 from the saved file, as the C++ engine will read it.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ref = NemotronHForCausalLM.from_pretrained(args.out, dtype=torch.float32).to(device).eval()
    set_experts_impl(ref, "eager")
    sync_router_bias_from_file(ref, args.out)
    biases = [g.e_score_correction_bias for g in gates(ref)]
    log(f"reloaded: router bias dtype {biases[0].dtype}, range [{min(b.min().item() for b in biases):.3f}, "
        f"{max(b.max().item() for b in biases):.3f}]; files {sorted(os.listdir(args.out))}")
    extra = {}
    steps = (("hf tokenizer check", lambda: check_hf_tokenizer(args.out, tok, template)),
             ("golden", lambda: write_golden(ref, tok, template, args.out, device)),
             ("routing", lambda: extra.update(routing_share=routing_summary(ref, tok, template, device))),
             ("samples", lambda: samples(ref, tok, template, held, device,
                                         os.path.join(args.out, "SAMPLES.md"), stats)))
    for name, fn in steps:
        try:
            fn()
        except Exception as error:  # noqa: BLE001 - keep going: the other outputs still matter
            import traceback
            traceback.print_exc()
            log(f"{name} FAILED: {error!r}")
    if stats is not None:
        stats.update(extra)
        with open(os.path.join(args.out, "train_log.json"), "w") as f:
            json.dump(stats, f, indent=1)
    sizes = {n: os.path.getsize(os.path.join(args.out, n)) for n in sorted(os.listdir(args.out))}
    log(f"wrote {args.out}: {sizes}")


if __name__ == "__main__":
    sys.exit(main())
