// Test helper shared by the unit and command-line suites: checks on message text.
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

namespace bisc::test {

/// True if `text` contains every one of `parts`; logs what was missing otherwise.
inline bool mentions(const std::string &text, std::initializer_list<std::string> parts) {
  bool all = true;
  for (const std::string &part : parts)
    if (text.find(part) == std::string::npos) {
      MESSAGE("missing '" << part << "' in: " << text);
      all = false;
    }
  return all;
}

} // namespace bisc::test
