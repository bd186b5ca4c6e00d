//===- error.h - The one error type bisc reports user-facing failures with -===//
//
// Bad input (a malformed file, an unknown op, a shape that does not work) is reported by
// throwing bisc::Error with a message that names the place: the file, node or tensor and
// what was expected. The drivers catch it, print it and exit 1; nothing aborts.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace bisc {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

/// Throws bisc::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args &&...args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

} // namespace bisc
