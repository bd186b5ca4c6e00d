//===- pass_options.cpp - Pipeline text and the pass flags of both drivers ===//
#include "passes/pass_manager.h"
#include "passes/passes.h"

#include "ir/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

namespace bisc {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

/// Offset of the first ',' outside braces (a pass's options may hold commas), or npos.
size_t topLevelComma(std::string_view text) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    else if (text[i] == '}') --depth;
    else if (text[i] == ',' && depth == 0) return i;
  }
  return std::string_view::npos;
}

std::vector<std::string_view> splitCommas(std::string_view text) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t cut = topLevelComma(text);
    std::string_view part = trim(text.substr(0, cut));
    if (!part.empty()) parts.push_back(part);
    if (cut == std::string_view::npos) return parts;
    text.remove_prefix(cut + 1);
  }
}

[[noreturn]] void unknownPass(std::string_view name, std::string_view flag) {
  fail("{}: unknown pass '{}'; known passes: {} (and 'default' = {})", flag, name,
       fmt::join(registeredPassNames(), ", "), fmt::join(defaultPipeline(), ","));
}

std::string checkedPassName(std::string_view name, std::string_view flag) {
  if (!createPass(name)) unknownPass(name, flag);
  return std::string(name);
}

/// The value after `--flag=` if `arg` is that flag.
bool valueOf(std::string_view arg, std::string_view flag, std::string_view &value) {
  if (!arg.starts_with(flag) || arg.size() <= flag.size() || arg[flag.size()] != '=')
    return false;
  value = arg.substr(flag.size() + 1);
  return true;
}

} // namespace

void Pass::setOptions(std::string_view text) {
  if (!trim(text).empty()) fail("takes no options, got '{}'", text);
}

std::vector<std::pair<std::string, std::string>> parseOptionList(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> options;
  for (std::string_view entry : splitCommas(text)) {
    size_t equals = entry.find('=');
    if (equals == std::string_view::npos) fail("option '{}' needs a value: key=value", entry);
    options.emplace_back(std::string(trim(entry.substr(0, equals))), std::string(trim(entry.substr(equals + 1))));
  }
  return options;
}

std::vector<std::string> parsePipeline(std::string_view text) {
  std::vector<std::string> names;
  std::vector<std::string_view> entries = splitCommas(text);
  // A pass named on its own (e.g. with options) runs there instead of inside 'default'.
  std::set<std::string_view> named;
  for (std::string_view entry : entries) named.insert(entry.substr(0, entry.find('{')));
  for (std::string_view name : entries) {
    if (name == "default") {
      for (const std::string &pass : defaultPipeline())
        if (!named.count(pass)) names.push_back(pass);
      continue;
    }
    names.push_back(checkedPassName(name, "--passes"));
  }
  return names;
}

bool parsePassFlag(std::string_view arg, PassOptions &options) {
  std::string_view value;
  auto names = [&](std::string_view flag) {
    std::set<std::string> set;
    for (std::string_view name : splitCommas(value)) set.insert(checkedPassName(name, flag));
    if (set.empty()) fail("{} needs a pass name", flag);
    return set;
  };
  if (valueOf(arg, "--passes", value)) {
    parsePipeline(value);
    options.pipeline = std::string(value);
  } else if (valueOf(arg, "--print-ir-before", value)) {
    options.printBefore.merge(names("--print-ir-before"));
  } else if (valueOf(arg, "--print-ir-after", value)) {
    options.printAfter.merge(names("--print-ir-after"));
  } else if (valueOf(arg, "--stop-after", value)) {
    options.stopAfter = checkedPassName(trim(value), "--stop-after");
  } else if (arg == "--print-ir-before-all") {
    options.printBeforeAll = true;
  } else if (arg == "--print-ir-after-all") {
    options.printAfterAll = true;
  } else if (arg == "--print-ir-after-change") {
    options.printAfterChange = true;
  } else if (arg == "--check-numerics") {
    options.checkNumerics = true;
  } else if (arg == "--time-passes") {
    options.timePasses = true;
  } else if (arg == "--pass-statistics") {
    options.passStatistics = true;
  } else if (arg == "--no-verify-each") {
    options.verifyEach = false;
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> parsePassFlags(const std::vector<std::string> &args,
                                        PassOptions &options) {
  std::vector<std::string> rest;
  for (const std::string &arg : args)
    if (!parsePassFlag(arg, options)) rest.push_back(arg);
  return rest;
}

std::string passFlagsHelp() {
  return fmt::format(
      "  --passes=P1,P2,...        pass pipeline ('default' = {})\n"
      "                            passes: {}\n"
      "                            a pass also named on its own (e.g. with options: blocked-layout{{block=8}})\n"
      "                            runs there instead of inside 'default'\n"
      "  --print-ir-before=P,...   print the IR before the named passes\n"
      "  --print-ir-after=P,...    print the IR after the named passes\n"
      "  --print-ir-before-all     print the IR before every pass\n"
      "  --print-ir-after-all      print the IR after every pass\n"
      "  --print-ir-after-change   print the IR after a pass only if it changed\n"
      "  --stop-after=P            stop the pipeline after pass P\n"
      "  --check-numerics          run the interpreter after every pass (needs weights)\n"
      "                            and name the first pass that moves the outputs\n"
      "  --time-passes             time every pass\n"
      "  --pass-statistics         print each pass's counters\n"
      "  --no-verify-each          verify only the input graph\n",
      fmt::join(defaultPipeline(), ","), fmt::join(registeredPassNames(), ", "));
}

} // namespace bisc
