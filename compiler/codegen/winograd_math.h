//===- winograd_math.h - The F(4x4, 3x3) transforms, shared by both layouts ===//
//
// F(4x4, 3x3) with interpolation points 0, +-1, +-2 (Lavin & Gray):
//
//   B^T = [4  0 -5  0  1  0]   G = [ 1/4     0     0]   A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]       [-1/6  -1/6  -1/6]         [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]       [-1/6   1/6  -1/6]         [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]       [1/24  1/12   1/6]         [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]       [1/24 -1/12   1/6]
//         [0  4  0 -5  0  1]       [   0     0     1]
//
// The NCHW kernel (emit_winograd.cpp, tiles in vector lanes) and the NCHW{c}c kernel
// (emit_blocked_winograd.cpp, channels in vector lanes) apply the same transforms to
// vectors; only what a lane holds differs. B^T and A^T are applied with their common sums
// factored out (14 and 10 vector operations instead of 22 and 17).
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include <array>

namespace bisc::winograd {

constexpr int64_t kPoints = 36;

/// U = G g G^T of one 3x3 kernel (row-major taps) as 36 points, row-major (xi = 6 i + j);
/// computed in double so the transform adds no rounding of its own.
inline std::array<float, kPoints> transformKernel(const float *kernel) {
  constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                               {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                               {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                               {1.0 / 24, 1.0 / 12, 1.0 / 6},
                               {1.0 / 24, -1.0 / 12, 1.0 / 6},
                               {0, 0, 1}};
  double gg[6][3] = {}; // G g
  for (int i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c)
      for (int r = 0; r < 3; ++r) gg[i][c] += kG[i][r] * double(kernel[r * 3 + c]);
  std::array<float, kPoints> u{};
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) {
      double sum = 0;
      for (int c = 0; c < 3; ++c) sum += gg[i][c] * kG[j][c];
      u[size_t(i * 6 + j)] = float(sum);
    }
  return u;
}

/// The 1-D transforms on vectors of one type.
class VectorTransforms {
public:
  using Six = std::array<llvm::Value *, 6>;
  using Four = std::array<llvm::Value *, 4>;

  VectorTransforms(llvm::IRBuilder<> &ir, llvm::FixedVectorType *type) : ir_(ir), type_(type) {}

  /// B^T d for one column d of an input tile.
  Six input(const Six &d) {
    llvm::Value *s12 = add(d[1], d[2]), *s34 = add(d[3], d[4]);
    llvm::Value *u12 = sub(d[1], d[2]), *u43 = sub(d[4], d[3]);
    llvm::Value *u42 = sub(d[4], d[2]), *u31 = sub(d[3], d[1]);
    return {fma(d[2], -5, fma(d[0], 4, d[4])), fma(s12, -4, s34), fma(u12, 4, u43),
            fma(u31, 2, u42),                  fma(u31, -2, u42), fma(d[3], -5, fma(d[1], 4, d[5]))};
  }

  /// A^T m for one column m of a transformed output tile.
  Four output(const Six &m) {
    llvm::Value *s12 = add(m[1], m[2]), *s34 = add(m[3], m[4]);
    llvm::Value *u12 = sub(m[1], m[2]), *u34 = sub(m[3], m[4]);
    return {add(add(m[0], s12), s34), fma(u34, 2, u12), fma(s34, 4, s12), add(fma(u34, 8, u12), m[5])};
  }

  /// a + c b
  llvm::Value *fma(llvm::Value *b, double c, llvm::Value *a) {
    llvm::Value *constant = llvm::ConstantVector::getSplat(type_->getElementCount(),
                                                           llvm::ConstantFP::get(type_->getElementType(), c));
    return ir_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {type_}, {constant, b, a});
  }

private:
  llvm::Value *add(llvm::Value *a, llvm::Value *b) { return ir_.CreateFAdd(a, b); }
  llvm::Value *sub(llvm::Value *a, llvm::Value *b) { return ir_.CreateFSub(a, b); }

  llvm::IRBuilder<> &ir_;
  llvm::FixedVectorType *type_;
};

} // namespace bisc::winograd
