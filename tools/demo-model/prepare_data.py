#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turns the GCIDE dictionary (Debian package dict-gcide) into short chats for the demo model.

Runs on any Debian machine with python3 and python3-jinja2 (no torch needed):
    apt-get install -y dict-gcide python3-jinja2
    python3 tools/demo-model/prepare_data.py [--out .deps/demo-data] [--gcide /usr/share/dictd/gcide]

Reads gcide.index + gcide.dict.dz (a dictzip file, which is plain gzip to Python), keeps entries
with a clean headword, part of speech and definition, and writes OUT/chats.jsonl.gz: one JSON
object per line, {"text": <the chat rendered with resources/demo-model/chat_template.jinja>,
"thinking": bool, "word": str}. Half the chats answer with a <think> block (word class,
etymology, related words) and a longer answer; the other half answer directly after
"<think></think>", exactly as the template's generation prompt ends when enable_thinking=false.
Rendering goes through the real template (Jinja2 with Hugging Face's settings) so training data and
the shipped template cannot disagree. OUT/held_out.txt lists the words kept out of training.
"""
import argparse
import gzip
import json
import os
import random
import re
import sys

import jinja2
from jinja2.ext import loopcontrols

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(REPO, "resources", "demo-model", "chat_template.jinja")

# Words kept out of training, so the samples show how the model treats a word it never saw.
HELD_OUT = ["lighthouse", "cinnamon", "thunderstorm", "velvet", "harbor"]

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# GCIDE part-of-speech abbreviations (longest first) and their names.
POS = [
    ("v. t. & i.", "verb"), ("v. i. & t.", "verb"), ("v. t.", "transitive verb"),
    ("v. i.", "intransitive verb"), ("p. p.", "past participle"), ("p. pr.", "present participle"),
    ("n. pl.", "plural noun"), ("n.", "noun"), ("a.", "adjective"), ("adv.", "adverb"),
    ("prep.", "preposition"), ("conj.", "conjunction"), ("interj.", "interjection"),
    ("pron.", "pronoun"), ("v.", "verb"), ("imp.", "past tense"),
]

# GCIDE character codes that have a plain ASCII spelling; anything else left in brackets drops
# the sense (Greek transliterations, pronunciation marks).
LIGATURES = {"[ae]": "ae", "[AE]": "Ae", "[oe]": "oe", "[OE]": "Oe", "[cced]": "c", "[eacute]": "e",
             "[egrave]": "e", "[ecir]": "e", "[uum]": "u", "[ouml]": "o", "[aum]": "a",
             "[ntil]": "n", "[=e]": "e", "[=a]": "a", "[=o]": "o", "[=i]": "i", "[=u]": "u"}

SOURCE_TAG = re.compile(r"\[(?:[^\[\]]*(?:Webster|PJC|WordNet|Century|Suppl|Wikipedia|Chambers|"
                        r"RDH|MW|Mw|Dorland|NIH|Johnson|Crabb|Stormonth|Sherman|Note)[^\[\]]*)\]")
WORD_OK = re.compile(r"^[A-Za-z][A-Za-z'-]*( [A-Za-z][A-Za-z'-]*){0,2}$")
CLEAN_OK = re.compile(r"^[A-Za-z0-9 ,.;:'()\-!?&/%\"]+$")


def b64(s):
    v = 0
    for c in s:
        v = v * 64 + B64.index(c)
    return v


def read_entries(gcide):
    with open(gcide + ".index", encoding="utf-8") as f:
        index = [line.rstrip("\n").split("\t") for line in f]
    data = gzip.open(gcide + ".dict.dz").read()
    seen = set()
    for word, off, length in index:
        if word.startswith("00-database"):
            continue
        key = (off, length)
        if key in seen:
            continue
        seen.add(key)
        o, n = b64(off), b64(length)
        yield data[o:o + n].decode("utf-8", errors="replace")


def flatten(text):
    text = SOURCE_TAG.sub(" ", text)
    for code, plain in LIGATURES.items():
        text = text.replace(code, plain)
    text = re.sub(r"\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text


def balanced_bracket(text, start):
    """Returns the index just after the ']' that closes the '[' at text[start]."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def clean_sense(text):
    text = flatten(text)
    text = re.sub(r"^\([A-Za-z][\w. &]{0,24}\)\s*", "", text)  # leading field label "(Zool.)"
    text = re.sub(r"^\(a\)\s*", "", text)  # first of several lettered sub-senses
    for stop in (" (b) ", " --", ' "', " Note:"):  # quotations, citations, second sub-sense
        if stop in text:
            text = text[: text.index(stop)]
    text = re.sub(r"^[;,.\s]+", "", text)
    text = re.sub(r"^pl\. [^.]*\.\s*", "", text)  # "; pl. Dutchmen." left from the head line
    text = re.sub(r"[;,:]?\s*(as|e\. g\.|thus|Ex)\.?$", "", text.strip()).strip()
    if not text or not CLEAN_OK.match(text) or len(text) < 8:
        return None
    if len(text) > 170:  # keep whole clauses up to ~170 characters
        cut = text[:170]
        pos = max(cut.rfind("; "), cut.rfind(", "))
        if pos < 40:
            return None
        text = cut[:pos]
    text = re.sub(r"[;,:]?\s*(as|e\. g\.|thus|Ex)\.?$", "", text.strip())
    text = text.rstrip(" ;,:")
    if not text.endswith((".", "!", "?")):
        text += "."
    return text[0].upper() + text[1:]


def clean_etymology(text):
    text = flatten(text.strip("[]"))
    text = re.sub(r"\s*See [^.]*\.?", "", text)
    text = re.sub(r"\s*Cf\. [^.]*\.?", "", text).strip(" ,;.")
    if not text or not CLEAN_OK.match(text) or len(text) > 90:
        return None
    return text


def parse_entry(raw):
    lines = raw.split("\n")
    head = lines[0]
    m = re.match(r"^([^\\]+?)\s*\\[^\\]*\\\s*(?:\([^)]*\))?\s*,\s*(.*)$", head)
    if not m:
        return None
    word = m.group(1).strip()
    if not WORD_OK.match(word):
        return None
    rest = m.group(2) + "\n" + "\n".join(lines[1:])
    pos_name = None
    for abbr, name in POS:
        if rest.startswith(abbr):
            pos_name = name
            rest = rest[len(abbr):]
            break
    if pos_name is None:
        return None
    # Inflection brackets "[imp. & p. p. ...]" and etymology "[F. lanterne, ...]" follow.
    etym = None
    rest = rest.lstrip(" ,")
    while rest.startswith("["):
        end = balanced_bracket(rest, 0)
        if end < 0:
            return None
        block = rest[:end]
        if not re.match(r"^\[(imp|p\. p|p\. pr|pl|Compar|superl|sing|pres)", block):
            etym = etym or clean_etymology(block)
        rest = rest[end:].lstrip(" ,.")
    # Senses: numbered "1." paragraphs, else the first paragraph.
    paragraphs = [p for p in re.split(r"\n\s*\n", rest) if p.strip()]
    senses, synonyms = [], None
    for para in paragraphs:
        if para.startswith("        "):  # deeply indented: a quotation, not a definition
            continue
        p = SOURCE_TAG.sub("", para).strip()
        if not p:
            continue
        sm = re.match(r"^(\d+)\.\s+(.*)$", p, re.S)
        if sm:
            s = clean_sense(sm.group(2))
            if s:
                senses.append(s)
        elif p.startswith("Syn:"):
            syn = flatten(p[4:]).rstrip(".")
            words = [w.strip() for w in re.split(r"[;,]", syn) if w.strip()]
            words = [w for w in words if WORD_OK.match(w)][:4]
            if words:
                synonyms = ", ".join(w.lower() for w in words)
        elif not senses and not p.startswith(("Note:", "{", "(")) and not re.match(r"^\s*\w+\s*--", p):
            s = clean_sense(p)
            if s:
                senses.append(s)
    if not senses:
        return None
    return {"word": word, "pos": pos_name, "etym": etym, "senses": senses[:3], "syn": synonyms}


def article(noun_phrase):
    return "an" if noun_phrase[0].lower() in "aeiou" else "a"


QUESTIONS = [
    "What does '{w}' mean?",
    "What does \"{w}\" mean?",
    "What is the meaning of the word \"{w}\"?",
    "Define {w}.",
    "Define the word '{w}'.",
    "Explain the word {w}.",
    "What is the definition of {w}?",
    "Can you tell me what {w} means?",
    "Meaning of '{w}'?",
]
SYSTEMS = ["You are a small dictionary.", "Answer briefly.", "You explain English words.",
           "You are a helpful assistant."]


def make_turn(entry, thinking, rng):
    w, pos = entry["word"], entry["pos"]
    q = rng.choice(QUESTIONS).format(w=w.lower() if rng.random() < 0.7 else w)
    first = entry["senses"][0]
    answer = f"{w} ({pos}): {first}"
    if not thinking:
        return q, {"role": "assistant", "content": answer}
    parts = [f"The user asks about \"{w}\". It is {article(pos)} {pos}."]
    if entry["etym"]:
        parts.append(f"It comes from {entry['etym']}.")
    if entry["syn"]:
        parts.append(f"Related words: {entry['syn']}.")
    n = len(entry["senses"])
    if n >= 2:
        parts.append(f"It has {n} senses, so I will give the first two.")
        answer += f"\n\nAlso: {entry['senses'][1]}"
    else:
        parts.append("It has one main sense.")
    return q, {"role": "assistant", "content": answer, "reasoning_content": " ".join(parts)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gcide", default="/usr/share/dictd/gcide", help="path prefix of gcide.index/.dict.dz")
    parser.add_argument("--out", default=os.path.join(REPO, ".deps", "demo-data"))
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--max-chats", type=int, default=0, help="0: every entry")
    args = parser.parse_args()
    if not os.path.exists(args.gcide + ".index"):
        sys.exit(f"{args.gcide}.index not found: apt-get install dict-gcide")

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    with open(TEMPLATE, encoding="utf-8") as f:
        template = env.from_string(f.read())

    entries, raw_count = [], 0
    held = {w.lower() for w in HELD_OUT}
    for raw in read_entries(args.gcide):
        raw_count += 1
        e = parse_entry(raw)
        if e and e["word"].lower() not in held:
            entries.append(e)
    rng = random.Random(args.seed)
    rng.shuffle(entries)
    if args.max_chats:
        entries = entries[: args.max_chats]

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "chats.jsonl.gz")
    n_think = n_multi = chars = 0
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for i, e in enumerate(entries):
            thinking = rng.random() < 0.5
            messages = []
            if rng.random() < 0.12:
                messages.append({"role": "system", "content": rng.choice(SYSTEMS)})
            if rng.random() < 0.12:  # a two-turn chat: history thinking is truncated by the template
                prev = entries[rng.randrange(len(entries))]
                q0, a0 = make_turn(prev, rng.random() < 0.5, rng)
                messages += [{"role": "user", "content": q0}, a0]
                n_multi += 1
            q, a = make_turn(e, thinking, rng)
            messages += [{"role": "user", "content": q}, a]
            text = template.render(messages=messages, add_generation_prompt=False, tools=None,
                                   documents=None)
            out.write(json.dumps({"text": text, "thinking": thinking, "word": e["word"]},
                                 ensure_ascii=False) + "\n")
            n_think += thinking
            chars += len(text)
    with open(os.path.join(args.out, "held_out.txt"), "w") as f:
        f.write("\n".join(HELD_OUT) + "\n")
    print(f"entries read {raw_count}, chats {len(entries)} (thinking {n_think}, two-turn {n_multi}), "
          f"{chars / 1e6:.1f} M characters -> {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    print("example:\n" + template.render(messages=[{"role": "user", "content": "What does 'lantern' mean?"}],
                                         add_generation_prompt=True))


if __name__ == "__main__":
    main()
