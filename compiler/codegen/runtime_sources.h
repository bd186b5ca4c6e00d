//===- runtime_sources.h - The runtime's C sources, embedded at build time --===//
#pragma once

namespace bisc {

extern const char *const kRuntimeHeader;        // runtime/bisc_runtime.h
extern const char *const kThreadPoolSource;     // runtime/thread_pool.c
extern const char *const kModelApiSource;       // runtime/model_api.c
extern const char *const kModelHeaderTemplate;  // runtime/model.h.in

} // namespace bisc
