//===- kernel_builder.cpp - IRBuilder helpers shared by all kernel emitters -===//
#include "compiler/codegen/kernel_builder.h"

#include "ir/error.h"

#include <llvm/IR/Intrinsics.h>

namespace bisc {

int64_t WeightsBlob::add(const void *data, size_t bytes) {
  bytes_.resize((bytes_.size() + 63) / 64 * 64, '\0');
  int64_t offset = int64_t(bytes_.size());
  bytes_.append(static_cast<const char *>(data), bytes);
  return offset;
}

KernelBuilder::KernelBuilder(llvm::Function *function, const BufferMap &buffers)
    : builder_(llvm::BasicBlock::Create(function->getContext(), "entry", function)),
      buffers_(buffers) {
  llvm::Value *frame = function->getArg(0);
  begin_ = function->getArg(1);
  end_ = function->getArg(2);
  // Load every frame slot once; unused loads are removed by the optimiser.
  for (int slot = 0; slot < 5; ++slot) {
    llvm::Value *address = builder_.CreateConstInBoundsGEP1_64(builder_.getPtrTy(), frame, uint64_t(slot));
    frameBases_[slot] = builder_.CreateLoad(builder_.getPtrTy(), address, "frame." + std::to_string(slot));
  }
}

llvm::Value *KernelBuilder::f32(float value) {
  return llvm::ConstantFP::get(builder_.getFloatTy(), double(value));
}

llvm::Value *KernelBuilder::base(const Value *value) {
  auto it = buffers_.locations.find(value);
  if (it == buffers_.locations.end()) fail("codegen: tensor '{}' has no buffer", value->name);
  llvm::Value *slotBase = frameBases_[int(it->second.slot)];
  return builder_.CreateConstInBoundsGEP1_64(builder_.getInt8Ty(), slotBase,
                                             uint64_t(it->second.byteOffset), value->name);
}

llvm::Value *KernelBuilder::blobPointer(int64_t byteOffset) {
  return builder_.CreateConstInBoundsGEP1_64(builder_.getInt8Ty(), frameBases_[int(Slot::Weights)],
                                             uint64_t(byteOffset));
}

llvm::Value *KernelBuilder::element(llvm::Value *base, llvm::Value *index, llvm::Type *type) {
  return builder_.CreateInBoundsGEP(type ? type : f32Type(), base, index);
}

llvm::Value *KernelBuilder::loadF32(llvm::Value *base, llvm::Value *index) {
  return builder_.CreateLoad(f32Type(), element(base, index));
}

void KernelBuilder::storeF32(llvm::Value *value, llvm::Value *base, llvm::Value *index) {
  builder_.CreateStore(value, element(base, index));
}

llvm::Value *KernelBuilder::loadI32(llvm::Value *base, llvm::Value *index) {
  return builder_.CreateLoad(builder_.getInt32Ty(), element(base, index, builder_.getInt32Ty()));
}

void KernelBuilder::loop(llvm::Value *begin, llvm::Value *end,
                         const std::function<void(llvm::Value *)> &body, int64_t step) {
  llvm::Function *function = builder_.GetInsertBlock()->getParent();
  llvm::LLVMContext &ctx = context();
  llvm::BasicBlock *preheader = builder_.GetInsertBlock();
  llvm::BasicBlock *header = llvm::BasicBlock::Create(ctx, "loop", function);
  llvm::BasicBlock *bodyBlock = llvm::BasicBlock::Create(ctx, "loop.body", function);
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(ctx, "loop.exit", function);
  builder_.CreateBr(header);
  builder_.SetInsertPoint(header);
  llvm::PHINode *index = builder_.CreatePHI(builder_.getInt64Ty(), 2, "i");
  index->addIncoming(begin, preheader);
  builder_.CreateCondBr(builder_.CreateICmpSLT(index, end), bodyBlock, exit);
  builder_.SetInsertPoint(bodyBlock);
  body(index);
  llvm::Value *next = builder_.CreateAdd(index, i64(step), "i.next", false, true);
  index->addIncoming(next, builder_.GetInsertBlock());
  builder_.CreateBr(header);
  builder_.SetInsertPoint(exit);
}

void KernelBuilder::prefetch(llvm::Value *pointer) {
  llvm::Function *intrinsic = llvm::Intrinsic::getDeclaration(builder_.GetInsertBlock()->getModule(),
                                                              llvm::Intrinsic::prefetch, {builder_.getPtrTy()});
  builder_.CreateCall(intrinsic, {pointer, i32(0), i32(3), i32(1)});
}

llvm::Value *KernelBuilder::stackSlot(llvm::Type *type) {
  llvm::BasicBlock &entry = builder_.GetInsertBlock()->getParent()->getEntryBlock();
  llvm::IRBuilder<> atEntry(&entry, entry.begin());
  return atEntry.CreateAlloca(type);
}

void KernelBuilder::markNontemporal(llvm::StoreInst *store) {
  llvm::Metadata *one = llvm::ConstantAsMetadata::get(builder_.getInt32(1));
  store->setMetadata(llvm::LLVMContext::MD_nontemporal, llvm::MDNode::get(context(), one));
}

void KernelBuilder::ifThen(llvm::Value *cond, const std::function<void()> &then) {
  llvm::Function *function = builder_.GetInsertBlock()->getParent();
  llvm::BasicBlock *thenBlock = llvm::BasicBlock::Create(context(), "then", function);
  llvm::BasicBlock *after = llvm::BasicBlock::Create(context(), "endif", function);
  builder_.CreateCondBr(cond, thenBlock, after);
  builder_.SetInsertPoint(thenBlock);
  then();
  builder_.CreateBr(after);
  builder_.SetInsertPoint(after);
}

void KernelBuilder::ifThenElse(llvm::Value *cond, const std::function<void()> &then,
                               const std::function<void()> &otherwise) {
  llvm::Function *function = builder_.GetInsertBlock()->getParent();
  llvm::BasicBlock *thenBlock = llvm::BasicBlock::Create(context(), "then", function);
  llvm::BasicBlock *elseBlock = llvm::BasicBlock::Create(context(), "else", function);
  llvm::BasicBlock *after = llvm::BasicBlock::Create(context(), "endif", function);
  builder_.CreateCondBr(cond, thenBlock, elseBlock);
  builder_.SetInsertPoint(thenBlock);
  then();
  builder_.CreateBr(after);
  builder_.SetInsertPoint(elseBlock);
  otherwise();
  builder_.CreateBr(after);
  builder_.SetInsertPoint(after);
}

llvm::Value *KernelBuilder::maxI(llvm::Value *a, llvm::Value *b) {
  return builder_.CreateSelect(builder_.CreateICmpSGT(a, b), a, b);
}

llvm::Value *KernelBuilder::minI(llvm::Value *a, llvm::Value *b) {
  return builder_.CreateSelect(builder_.CreateICmpSLT(a, b), a, b);
}

llvm::Value *KernelBuilder::arenaPointer(int64_t byteOffset) {
  return builder_.CreateConstInBoundsGEP1_64(builder_.getInt8Ty(), frameBases_[int(Slot::Arena)],
                                             uint64_t(byteOffset), "scratch");
}

namespace {

/// sum over i < count of term(i, lanes) (a <lanes x float> of elements i .. i + lanes - 1)
/// in lane-parallel partial sums, then term(i, 1) for the tail. Explicit lanes let the loop
/// run on vectors without reassociation flags, and make long sums more accurate than one
/// running f32 total.
llvm::Value *laneSum(KernelBuilder &k, int64_t count, int64_t lanes,
                     const std::function<llvm::Value *(llvm::Value *, int64_t)> &term) {
  auto &ir = k.ir();
  lanes = std::max<int64_t>(1, lanes);
  int64_t body = count / lanes * lanes;
  llvm::Value *total = k.f32(0.0f);
  if (body > 0) {
    auto *vectorType = llvm::FixedVectorType::get(k.f32Type(), unsigned(lanes));
    llvm::Value *partial = k.stackSlot(vectorType);
    ir.CreateStore(llvm::Constant::getNullValue(vectorType), partial);
    k.loop(k.i64(0), k.i64(body), [&](llvm::Value *i) {
      ir.CreateStore(ir.CreateFAdd(ir.CreateLoad(vectorType, partial), term(i, lanes)), partial);
    }, lanes);
    llvm::Value *sums = ir.CreateLoad(vectorType, partial);
    for (int64_t lane = 0; lane < lanes; ++lane)
      total = ir.CreateFAdd(total, ir.CreateExtractElement(sums, uint64_t(lane)));
  }
  if (body == count) return total;
  llvm::Value *tail = k.stackSlot(k.f32Type());
  ir.CreateStore(total, tail);
  k.loop(k.i64(body), k.i64(count), [&](llvm::Value *i) {
    ir.CreateStore(ir.CreateFAdd(ir.CreateLoad(k.f32Type(), tail), term(i, 1)), tail);
  });
  return ir.CreateLoad(k.f32Type(), tail);
}

} // namespace

llvm::Value *KernelBuilder::loadLanes(llvm::Value *base, llvm::Value *index, int64_t lanes, llvm::Type *element) {
  if (!element) element = f32Type();
  llvm::Type *type = lanes == 1 ? element : llvm::FixedVectorType::get(element, unsigned(lanes));
  return builder_.CreateAlignedLoad(type, this->element(base, index, element),
                                    llvm::Align(element->getPrimitiveSizeInBits() / 8));
}

void KernelBuilder::storeLanes(llvm::Value *value, llvm::Value *base, llvm::Value *index, llvm::Type *element) {
  if (!element) element = f32Type();
  builder_.CreateAlignedStore(value, this->element(base, index, element),
                              llvm::Align(element->getPrimitiveSizeInBits() / 8));
}

llvm::Value *KernelBuilder::splat(llvm::Value *scalar, int64_t lanes) {
  return lanes == 1 ? scalar : builder_.CreateVectorSplat(unsigned(lanes), scalar);
}

void KernelBuilder::vectorLoop(llvm::Value *begin, llvm::Value *end, int64_t lanes,
                               const std::function<void(llvm::Value *, int64_t)> &body) {
  llvm::Value *count = builder_.CreateSub(end, begin);
  llvm::Value *vectorEnd = builder_.CreateAdd(begin, builder_.CreateMul(builder_.CreateSDiv(count, i64(lanes)), i64(lanes)));
  loop(begin, vectorEnd, [&](llvm::Value *i) { body(i, lanes); }, lanes);
  loop(vectorEnd, end, [&](llvm::Value *i) { body(i, 1); });
}

llvm::Value *KernelBuilder::sum(llvm::Value *a, int64_t count, int64_t lanes) {
  return laneSum(*this, count, lanes, [&](llvm::Value *i, int64_t width) { return loadLanes(a, i, width); });
}

llvm::Value *KernelBuilder::dot(llvm::Value *a, llvm::Value *b, int64_t count, int64_t lanes) {
  return laneSum(*this, count, lanes, [&](llvm::Value *i, int64_t width) {
    return builder_.CreateFMul(loadLanes(a, i, width), loadLanes(b, i, width));
  });
}

llvm::Value *KernelBuilder::relu(llvm::Value *x) {
  // x < 0 ? 0 : x keeps NaN as NaN, like PyTorch.
  llvm::Value *zero = llvm::ConstantFP::get(x->getType(), 0.0);
  return builder_.CreateSelect(builder_.CreateFCmpOLT(x, zero), zero, x);
}

llvm::Value *KernelBuilder::exp(llvm::Value *x) {
  return builder_.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x);
}

llvm::Value *KernelBuilder::sigmoid(llvm::Value *x) {
  llvm::Value *e = exp(builder_.CreateFNeg(x));
  llvm::Value *one = llvm::ConstantFP::get(x->getType(), 1.0);
  return builder_.CreateFDiv(one, builder_.CreateFAdd(one, e));
}

} // namespace bisc
