//===- registry.cpp - Pass names to factories, from passes.def ------------===//
#include "passes/passes.h"

#include "ir/error.h"

namespace bisc {

namespace {

struct Entry {
  const char *name;
  PassFactory factory;
};

const std::vector<Entry> &entries() {
  static const std::vector<Entry> table = {
#define BISC_PASS(name, factory) {name, &factory},
#include "passes/passes.def"
  };
  return table;
}

} // namespace

std::unique_ptr<Pass> createPass(std::string_view entry, std::string_view defaults) {
  // "name{options}": the options go to Pass::setOptions, after the defaults.
  std::string_view name = entry, options;
  size_t brace = name.find('{');
  if (brace != std::string_view::npos) {
    if (!name.ends_with('}')) fail("pass '{}': options must be written name{{key=value,...}}", name);
    options = name.substr(brace + 1, name.size() - brace - 2);
    name = name.substr(0, brace);
  }
  for (const Entry &entry : entries()) {
    if (name != entry.name) continue;
    std::unique_ptr<Pass> pass = entry.factory();
    try {
      if (!defaults.empty()) pass->setOptions(defaults);
      if (brace != std::string_view::npos) pass->setOptions(options);
    } catch (const Error &e) {
      fail("pass '{}': {}", name, e.what());
    }
    return pass;
  }
  return nullptr;
}

std::vector<std::string> registeredPassNames() {
  std::vector<std::string> names;
  for (const Entry &entry : entries()) names.push_back(entry.name);
  return names;
}

const std::vector<std::string> &defaultPipeline() {
  // canonicalize first so every matcher sees no dropout and no identity resizes; fold-bn
  // before fuse-conv-act (a CBR is conv+relu once BN is folded); the gate fusions match
  // the fused_conv/conv2d forms fuse-conv-act leaves; cse/dce tidy up; the layout is chosen
  // on the fused ops (they have blocked kernels); memory last.
  static const std::vector<std::string> pipeline = {
      "canonicalize", "drop-aux-heads", "fold-bn", "fuse-conv-act", "fuse-arm",       "fuse-ffm",
      "fuse-bga",     "fuse-ce",        "fuse-resize", "cse",       "dce",            "blocked-layout",
      "plan-memory"};
  return pipeline;
}

} // namespace bisc
