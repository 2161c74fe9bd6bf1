#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the demo model's own greedy answers (SAMPLES.md) as chat-formatted text, the way its chat
template renders a conversation: in-distribution text for `logitscope-cli compare` / `evaluate`
(BF16 against FP8 and NVFP4, for example).
    python3 tools/demo-model/quality_text.py > demo_chat.txt
"""
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
text = open(os.path.join(here, "SAMPLES.md"), encoding="utf-8").read()
out = []
for word, mode, body in re.findall(r"^## (\S+) \| (thinking on|thinking off)\n\n```\n(.*?)\n```", text, re.M | re.S):
    body = body.split("\n", 1)[1]  # drop the "[prompt ends] ..." line
    opening = "<think>\n" if mode == "thinking on" else "<think></think>"
    out.append("<|im_start|>system\n<|im_end|>\n<|im_start|>user\nWhat does " + word + " mean?<|im_end|>\n"
               "<|im_start|>assistant\n" + opening + body + "\n")
sys.stdout.write("".join(out))
