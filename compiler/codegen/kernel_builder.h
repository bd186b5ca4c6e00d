//===- kernel_builder.h - IRBuilder helpers shared by all kernel emitters --===//
//
// A kernel is `void kernel(ptr frame, i64 begin, i64 end)`: it runs iterations
// [begin, end) of its parallel axis. Tensors are found through the frame's base pointers
// (arena, weights blob, input, output) plus a constant byte offset chosen at compile time,
// so every address a kernel computes is a base plus constants known to LLVM.
#pragma once

#include "ir/graph.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bisc {

/// Where a tensor lives at run time.
enum class Slot { Arena = 0, Weights = 1, Input = 2, Output = 3, Labels = 4 };

struct Location {
  Slot slot = Slot::Arena;
  int64_t byteOffset = 0;
};

/// Constant data kernels read from the weights blob: the graph's weights and tables that
/// emitters derive at compile time (resize indices, repacked weights).
class WeightsBlob {
public:
  /// Appends 64-byte aligned data and returns its offset.
  int64_t add(const void *data, size_t bytes);
  const std::string &bytes() const { return bytes_; }

private:
  std::string bytes_;
};

/// Compile-time placement of every tensor a kernel may touch.
struct BufferMap {
  std::map<const Value *, Location> locations;
  WeightsBlob *blob = nullptr;
};

class KernelBuilder {
public:
  KernelBuilder(llvm::Function *function, const BufferMap &buffers);

  llvm::IRBuilder<> &ir() { return builder_; }
  llvm::LLVMContext &context() { return builder_.getContext(); }
  llvm::Value *begin() const { return begin_; }
  llvm::Value *end() const { return end_; }

  llvm::Value *i64(int64_t value) { return builder_.getInt64(uint64_t(value)); }
  llvm::Value *i32(int32_t value) { return builder_.getInt32(uint32_t(value)); }
  llvm::Value *f32(float value);
  llvm::Type *f32Type() { return builder_.getFloatTy(); }

  /// Base pointer of a tensor (its first element).
  llvm::Value *base(const Value *value);
  /// A frame slot's base pointer itself (the labels kernel addresses the output directly).
  llvm::Value *frameBase(Slot slot) { return frameBases_[int(slot)]; }
  /// Pointer to a constant table an emitter added to the blob.
  llvm::Value *blobPointer(int64_t byteOffset);
  /// Pointer to element `index` of a tensor of `type` elements starting at `base`.
  llvm::Value *element(llvm::Value *base, llvm::Value *index, llvm::Type *type = nullptr);
  llvm::Value *loadF32(llvm::Value *base, llvm::Value *index);
  void storeF32(llvm::Value *value, llvm::Value *base, llvm::Value *index);
  llvm::Value *loadI32(llvm::Value *base, llvm::Value *index);
  /// `lanes` consecutive elements of `element` type (default f32) at base[index]: a vector,
  /// or a scalar when lanes is 1.
  llvm::Value *loadLanes(llvm::Value *base, llvm::Value *index, int64_t lanes, llvm::Type *element = nullptr);
  /// Stores a vector or scalar of `element` type (default f32) at base[index].
  void storeLanes(llvm::Value *value, llvm::Value *base, llvm::Value *index, llvm::Type *element = nullptr);
  /// `scalar` in `lanes` lanes (the scalar itself when lanes is 1).
  llvm::Value *splat(llvm::Value *scalar, int64_t lanes);

  /// for (i = begin; i < end; i += step) body(i). Bounds may be constants or values.
  void loop(llvm::Value *begin, llvm::Value *end, const std::function<void(llvm::Value *)> &body,
            int64_t step = 1);
  /// body(i, lanes) for i in [begin, end) in steps of `lanes`, then body(i, 1) for the rest.
  void vectorLoop(llvm::Value *begin, llvm::Value *end, int64_t lanes,
                  const std::function<void(llvm::Value *, int64_t)> &body);
  void loop(int64_t begin, int64_t end, const std::function<void(llvm::Value *)> &body) {
    loop(i64(begin), i64(end), body);
  }

  /// A stack slot in the entry block (where mem2reg can promote it to a register).
  llvm::Value *stackSlot(llvm::Type *type);
  /// A read prefetch of the cache line at `pointer` into every cache level; it never faults,
  /// so pointers past a tensor's end are harmless.
  void prefetch(llvm::Value *pointer);
  /// Marks a store as streaming (non-temporal): it bypasses the caches and skips the line's
  /// read-for-ownership.
  void markNontemporal(llvm::StoreInst *store);

  /// if (cond) then()
  void ifThen(llvm::Value *cond, const std::function<void()> &then);
  /// if (cond) then() else otherwise()
  void ifThenElse(llvm::Value *cond, const std::function<void()> &then,
                  const std::function<void()> &otherwise);

  llvm::Value *add(llvm::Value *a, int64_t b) { return b ? builder_.CreateAdd(a, i64(b), "", false, true) : a; }
  llvm::Value *mul(llvm::Value *a, int64_t b) { return b == 1 ? a : builder_.CreateMul(a, i64(b), "", false, true); }
  llvm::Value *maxI(llvm::Value *a, llvm::Value *b);
  llvm::Value *minI(llvm::Value *a, llvm::Value *b);
  /// Pointer to arena byte `byteOffset` (a node's scratch memory).
  llvm::Value *arenaPointer(int64_t byteOffset);
  /// sum of a[i] for i < count in f32, as `lanes` interleaved partial sums (one vector
  /// register: element i goes to lane i % lanes) added in lane order, then the tail.
  llvm::Value *sum(llvm::Value *a, int64_t count, int64_t lanes);
  /// sum of a[i] * b[i] for i < count, with the partial sums of sum().
  llvm::Value *dot(llvm::Value *a, llvm::Value *b, int64_t count, int64_t lanes);
  /// Elementwise math used by several emitters, on an f32 or a vector of f32.
  llvm::Value *relu(llvm::Value *x);
  llvm::Value *sigmoid(llvm::Value *x);
  llvm::Value *exp(llvm::Value *x);

  const BufferMap &buffers() const { return buffers_; }

private:
  llvm::IRBuilder<> builder_;
  const BufferMap &buffers_;
  llvm::Value *frameBases_[5] = {};
  llvm::Value *begin_ = nullptr, *end_ = nullptr;
};

} // namespace bisc
