// SPDX-License-Identifier: GPL-3.0-or-later
// `tokenize` and `detokenize`: the tokenizer from a terminal. Other checks parse this output, so the
// format is a contract: tokenize prints one JSON array of ids, detokenize prints the text exactly.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "args.h"
#include "command.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"

namespace logitscope::cli {

namespace {

int run_tokenize(const std::vector<std::string>& words) {
  Args args(words, {"tokenizer", "text-file", "text"}, {"add-special-tokens"});
  auto tokenizer = Tokenizer::from_file(args.require("tokenizer"));
  std::string text;
  if (auto file = args.get("text-file")) text = read_text_file(*file);
  else if (auto inline_text = args.get("text")) text = *inline_text;
  else throw Error("missing required option --text-file (or --text)");
  auto ids = tokenizer->encode(text, args.has("add-special-tokens"));
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  out += "]\n";
  std::cout << out << std::flush;
  return 0;
}

int run_detokenize(const std::vector<std::string>& words) {
  Args args(words, {"tokenizer", "ids"}, {"skip-special-tokens"});
  auto tokenizer = Tokenizer::from_file(args.require("tokenizer"));
  auto ids = parse_id_list(args.require("ids"), "--ids");
  std::string text = tokenizer->decode(ids, args.has("skip-special-tokens"));
  std::cout.write(text.data(), std::streamsize(text.size()));
  std::cout.flush();
  return 0;
}

const CommandRegistration tokenize_registration{Command{
    "tokenize", "print the token ids of a text file as a JSON array",
    "usage: logitscope-cli tokenize --tokenizer PATH --text-file FILE [--add-special-tokens]\n"
    "  --tokenizer PATH      tokenizer.json, or a folder holding one\n"
    "  --text-file FILE      the text to tokenize, taken whole and byte for byte ('-' = stdin)\n"
    "  --text TEXT           the text given inline instead of --text-file\n"
    "  --add-special-tokens  apply the post-processor (e.g. a BOS token)\n"
    "Prints the ids as one JSON array on one line.\n",
    run_tokenize}};

const CommandRegistration detokenize_registration{Command{
    "detokenize", "print the text of a list of token ids",
    "usage: logitscope-cli detokenize --tokenizer PATH --ids 1,2,3 [--skip-special-tokens]\n"
    "  --tokenizer PATH        tokenizer.json, or a folder holding one\n"
    "  --ids LIST              ids separated by commas or spaces, or a JSON array\n"
    "  --skip-special-tokens   leave special tokens out of the text\n"
    "Prints the decoded text exactly, with no newline added.\n",
    run_detokenize}};

}  // namespace

}  // namespace logitscope::cli
