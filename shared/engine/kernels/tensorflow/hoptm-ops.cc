// TensorFlow CPU ops for the `tensorflow` backend (docs/architecture.md section 8): instance norm, alone or
// with the ReLU after it, its gradient and the gradient of that gradient, each one pass-fused kernel instead
// of ~6, ~11 and ~40 TensorFlow ops over the activation (the meta-gradient runs all three at every layer of
// every inner step), also with the 2x2 average pool after it; the DSA's resampling and its adjoint; the 2x2
// average pool's gradient; the conv filters' OIHW/HWIO transposes.
//
// Written against TensorFlow's stable C kernel API (tensorflow/c/kernels.h, ops.h), so it needs only the C
// headers of the wheel that tfjs-node is built against, and built as a Node addon: loading it with require()
// registers the ops in the libtensorflow_framework that tfjs-node has already loaded, after which
// tfjs-node's executeMultipleOutputs runs them by name. scripts/install-tfjs-node.sh builds it. The norm
// kernels' maths is shared/engine/ops/instance-norm.ts's, whose compositions are the reference
// (tests/parity/fused-kernels.test.ts).
//
// Layout NHWC, float32. Statistics per (sample, channel) over H x W, accumulated in double:
//   mean, c = x - mean, var = mean(c^2), r = 1/sqrt(var + eps), xhat = c * r.
// Per sample the working set (H x W x C floats) stays in cache across the passes.

#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tensorflow/c/kernels.h"
#include "tensorflow/c/ops.h"
#include "tensorflow/c/tf_tensor.h"

namespace {

struct Geometry {
  int64_t n = 0, hw = 0, c = 0;
  int64_t w = 0;  // the row length, for the fused pool (hw / w rows)
};

struct Kernel {
  float epsilon = 1e-5f;
};

// TensorFlow's intra-op thread count as tfjs-node starts it (TF_NUM_INTRAOP_THREADS, else one per core):
// the C kernel API has no handle on TensorFlow's pool, so samples are split over threads of our own.
int Threads() {
  static const int threads = [] {
    const char* set = std::getenv("TF_NUM_INTRAOP_THREADS");
    const int n = set != nullptr ? std::atoi(set) : 0;
    return n > 0 ? n : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return threads;
}

// Runs body(first, last, part) over samples [0, n) in up to Threads() contiguous parts; one part when the
// activation is too small for a thread's start-up (~50 us) to pay. Returns the number of parts.
template <typename Body>
int ForSamples(const Geometry& g, Body body) {
  const int64_t per_sample = g.hw * g.c;
  const int parts = static_cast<int>(
      std::min<int64_t>({g.n, Threads(), std::max<int64_t>(1, g.n * per_sample / 65536)}));
  if (parts <= 1) {
    body(int64_t{0}, g.n, 0);
    return 1;
  }
  std::vector<std::thread> threads;
  for (int part = 1; part < parts; ++part)
    threads.emplace_back(body, g.n * part / parts, g.n * (part + 1) / parts, part);
  body(int64_t{0}, g.n / parts, 0);
  for (std::thread& t : threads) t.join();
  return parts;
}

// Statistics of one sample's [hw, c] slab: mean and r per channel.
void SampleStatistics(const float* x, const Geometry& g, float eps, std::vector<double>& mean,
                      std::vector<double>& r) {
  std::fill(mean.begin(), mean.end(), 0.0);
  std::fill(r.begin(), r.end(), 0.0);
  for (int64_t p = 0; p < g.hw; ++p) {
    const float* row = x + p * g.c;
    for (int64_t k = 0; k < g.c; ++k) mean[k] += row[k];
  }
  for (int64_t k = 0; k < g.c; ++k) mean[k] /= static_cast<double>(g.hw);
  for (int64_t p = 0; p < g.hw; ++p) {
    const float* row = x + p * g.c;
    for (int64_t k = 0; k < g.c; ++k) {
      const double d = row[k] - mean[k];
      r[k] += d * d;
    }
  }
  for (int64_t k = 0; k < g.c; ++k) r[k] = 1.0 / std::sqrt(r[k] / static_cast<double>(g.hw) + eps);
}

// Inputs, outputs and failure reporting for one Compute call.
class Context {
 public:
  explicit Context(TF_OpKernelContext* ctx) : ctx_(ctx), status_(TF_NewStatus()) {}
  ~Context() {
    for (TF_Tensor* t : owned_) TF_DeleteTensor(t);
    TF_DeleteStatus(status_);
  }

  const float* Input(int i, TF_Tensor** out = nullptr) {
    TF_Tensor* t = nullptr;
    TF_GetInput(ctx_, i, &t, status_);
    if (!Ok()) return nullptr;
    owned_.push_back(t);
    if (TF_TensorType(t) != TF_FLOAT) return Fail("input " + std::to_string(i) + " must be float32");
    if (out != nullptr) *out = t;
    return static_cast<const float*>(TF_TensorData(t));
  }

  const int32_t* InputInt32(int i, TF_Tensor** out) {
    TF_Tensor* t = nullptr;
    TF_GetInput(ctx_, i, &t, status_);
    if (!Ok()) return nullptr;
    owned_.push_back(t);
    if (TF_TensorType(t) != TF_INT32) return Fail("input " + std::to_string(i) + " must be int32");
    *out = t;
    return static_cast<const int32_t*>(TF_TensorData(t));
  }

  float* Output(int i, const std::vector<int64_t>& dims) {
    size_t count = 1;
    for (int64_t d : dims) count *= static_cast<size_t>(d);
    TF_Tensor* t = TF_AllocateOutput(ctx_, i, TF_FLOAT, dims.data(), static_cast<int>(dims.size()),
                                     count * sizeof(float), status_);
    if (!Ok()) return nullptr;
    owned_.push_back(t);
    return static_cast<float*>(TF_TensorData(t));
  }

  // The activation input's geometry; fails unless it is rank 4.
  bool Activation(TF_Tensor* t, Geometry* g, std::vector<int64_t>* dims) {
    if (TF_NumDims(t) != 4) {
      Fail("x must be NHWC (rank 4)");
      return false;
    }
    dims->clear();
    for (int i = 0; i < 4; ++i) dims->push_back(TF_Dim(t, i));
    *g = Geometry{(*dims)[0], (*dims)[1] * (*dims)[2], (*dims)[3], (*dims)[2]};
    return true;
  }

  bool Matches(TF_Tensor* t, const std::vector<int64_t>& dims, const char* name) {
    bool same = TF_NumDims(t) == static_cast<int>(dims.size());
    for (int i = 0; same && i < static_cast<int>(dims.size()); ++i) same = TF_Dim(t, i) == dims[i];
    if (!same) Fail(std::string(name) + " has the wrong shape");
    return same;
  }

  bool Ok() {
    if (TF_GetCode(status_) == TF_OK) return true;
    TF_OpKernelContext_Failure(ctx_, status_);
    return false;
  }

  std::nullptr_t Fail(const std::string& message) {
    TF_SetStatus(status_, TF_INVALID_ARGUMENT, message.c_str());
    TF_OpKernelContext_Failure(ctx_, status_);
    return nullptr;
  }

 private:
  TF_OpKernelContext* ctx_;
  TF_Status* status_;
  std::vector<TF_Tensor*> owned_;
};

// The ReLU that follows the norm in every ConvNet block, fused: its mask is y > 0 on the fused output y,
// which the gradient kernels take as an extra input (the mask is piecewise constant: no derivative flows
// through it). kRelu selects the fused variant of each kernel.
inline float Relu(float v) { return v > 0.f ? v : 0.f; }

// dy where y > 0, else 0, into `out` (one sample); returns out.
inline const float* Mask(const float* __restrict y, const float* __restrict dy, float* __restrict out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) out[i] = y[i] > 0.f ? dy[i] : 0.f;
  return out;
}

// The norm as y = x * scale + shift per channel. The forward kernels and the pool variant's gradients, which
// recompute the ReLU mask from x, both take it from here: the same float arithmetic, so the same mask.
void Affine(const float* gamma, const float* beta, const std::vector<double>& mean, const std::vector<double>& r,
            std::vector<float>& scale, std::vector<float>& shift) {
  for (size_t k = 0; k < scale.size(); ++k) {
    scale[k] = static_cast<float>(gamma[k] * r[k]);
    shift[k] = static_cast<float>(beta[k] - mean[k] * gamma[k] * r[k]);
  }
}

// The ConvNet's 2x2, stride-2 average pool after the ReLU, fused too (HoptmInstanceNormReluPool*): the
// gradients take the pooled dy and beta instead of y and the full dy, and recompute the mask
// x * scale + shift > 0. Each dy is spread over its window / 4 where the mask is on, into `out` (one sample).
const float* MaskedUpsample(const float* __restrict xs, const float* __restrict scale, const float* __restrict shift,
                            const float* __restrict dp, float* __restrict out, const Geometry& g) {
  const int64_t w = g.w, h = g.hw / g.w, c = g.c, ow = w / 2;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const int64_t at = (i * w + j) * c;
      const float* __restrict d = dp + ((i / 2) * ow + j / 2) * c;
      // Times a 0/1 mask: GCC keeps the select form of this loop scalar.
      for (int64_t k = 0; k < c; ++k)
        out[at + k] = d[k] * (xs[at + k] * scale[k] + shift[k] > 0.f ? 0.25f : 0.f);
    }
  return out;
}

// The pool's adjoint of MaskedUpsample: out (pooled, one sample) = sum of each window of full, masked, / 4.
void PoolMasked(const float* __restrict xs, const float* __restrict scale, const float* __restrict shift,
                float* __restrict full, float* __restrict out, const Geometry& g) {
  const int64_t w = g.w, h = g.hw / g.w, c = g.c, ow = w / 2;
  for (int64_t i = 0; i < g.hw * c; i += c)
    for (int64_t k = 0; k < c; ++k) {
      const float v = full[i + k];
      full[i + k] = xs[i + k] * scale[k] + shift[k] > 0.f ? v : 0.f;
    }
  for (int64_t i = 0; i < h / 2; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      const float *__restrict a = full + ((2 * i) * w + 2 * j) * c, *__restrict b = a + w * c;
      float* __restrict o = out + (i * ow + j) * c;
      for (int64_t k = 0; k < c; ++k) o[k] = (a[k] + a[c + k] + b[k] + b[c + k]) * 0.25f;
    }
}

// The pooled shape of an even NHWC activation; fails on an odd height or width.
bool PooledDims(Context& ctx, const std::vector<int64_t>& dims, std::vector<int64_t>* pooled) {
  if (dims[1] % 2 != 0 || dims[2] % 2 != 0) {
    ctx.Fail("the fused 2x2 pool needs an even height and width");
    return false;
  }
  *pooled = {dims[0], dims[1] / 2, dims[2] / 2, dims[3]};
  return true;
}

// HoptmInstanceNorm(x, gamma, beta) -> y = xhat * gamma + beta (HoptmInstanceNormRelu: relu of that;
// HoptmInstanceNormReluPool: its 2x2 average pool).
template <bool kRelu, bool kPool = false>
void ComputeForward(void* kernel, TF_OpKernelContext* raw) {
  const float eps = static_cast<Kernel*>(kernel)->epsilon;
  Context ctx(raw);
  TF_Tensor *xt = nullptr, *gt = nullptr, *bt = nullptr;
  const float* x = ctx.Input(0, &xt);
  const float* gamma = x ? ctx.Input(1, &gt) : nullptr;
  const float* beta = gamma ? ctx.Input(2, &bt) : nullptr;
  Geometry g;
  std::vector<int64_t> dims;
  if (!beta || !ctx.Activation(xt, &g, &dims) || !ctx.Matches(gt, {g.c}, "gamma") ||
      !ctx.Matches(bt, {g.c}, "beta"))
    return;
  std::vector<int64_t> pooled;
  if (kPool && !PooledDims(ctx, dims, &pooled)) return;
  float* y = ctx.Output(0, kPool ? pooled : dims);
  if (!y) return;
  ForSamples(g, [&](int64_t first, int64_t last, int) {
    std::vector<double> mean(g.c), r(g.c);
    std::vector<float> scale(g.c), shift(g.c);
    for (int64_t n = first; n < last; ++n) {
      const float* xs = x + n * g.hw * g.c;
      SampleStatistics(xs, g, eps, mean, r);
      Affine(gamma, beta, mean, r, scale, shift);
      if constexpr (kPool) {
        const int64_t w = g.w, ow = w / 2, c = g.c;
        const float *__restrict sc = scale.data(), *__restrict sh = shift.data();
        float* __restrict ys = y + n * (g.hw / 4) * c;
        for (int64_t i = 0; i < g.hw / w / 2; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            const float *__restrict a = xs + ((2 * i) * w + 2 * j) * c, *__restrict b = a + w * c;
            float* __restrict o = ys + (i * ow + j) * c;
            for (int64_t k = 0; k < c; ++k)
              o[k] = (Relu(a[k] * sc[k] + sh[k]) + Relu(a[c + k] * sc[k] + sh[k]) + Relu(b[k] * sc[k] + sh[k]) +
                      Relu(b[c + k] * sc[k] + sh[k])) *
                     0.25f;
          }
        continue;
      }
      float* ys = y + n * g.hw * g.c;
      for (int64_t p = 0; p < g.hw; ++p)
        for (int64_t k = 0; k < g.c; ++k) {
          const float v = xs[p * g.c + k] * scale[k] + shift[k];
          ys[p * g.c + k] = kRelu ? Relu(v) : v;
        }
    }
  });
}

// HoptmInstanceNormGrad(x, gamma, dy) -> (dx, dgamma, dbeta). With Sb = sum dy, Pb = sum dy * xhat:
//   dx = gamma r (dy - Sb/m - xhat Pb/m), dgamma = sum over n of Pb, dbeta = sum over n of Sb.
// HoptmInstanceNormReluGrad(x, gamma, y, dy): the same with dy masked by y > 0.
// HoptmInstanceNormReluPoolGrad(x, gamma, beta, dy): dy pooled, spread by MaskedUpsample.
template <bool kRelu, bool kPool = false>
void ComputeGrad(void* kernel, TF_OpKernelContext* raw) {
  const float eps = static_cast<Kernel*>(kernel)->epsilon;
  Context ctx(raw);
  TF_Tensor *xt = nullptr, *gt = nullptr, *dyt = nullptr;
  const float* x = ctx.Input(0, &xt);
  const float* gamma = x ? ctx.Input(1, &gt) : nullptr;
  TF_Tensor* yt = nullptr;  // y, or beta for the pool variant
  const float* y = kRelu && gamma ? ctx.Input(2, &yt) : nullptr;
  const float* dy = gamma && (!kRelu || y) ? ctx.Input(kRelu ? 3 : 2, &dyt) : nullptr;
  Geometry g;
  std::vector<int64_t> dims, pooled;
  if (!dy || !ctx.Activation(xt, &g, &dims) || !ctx.Matches(gt, {g.c}, "gamma") ||
      (kPool && !PooledDims(ctx, dims, &pooled)) || !ctx.Matches(dyt, kPool ? pooled : dims, "dy") ||
      (kRelu && !ctx.Matches(yt, kPool ? std::vector<int64_t>{g.c} : dims, kPool ? "beta" : "y")))
    return;
  float* dx = ctx.Output(0, dims);
  float* dgamma = dx ? ctx.Output(1, {g.c}) : nullptr;
  float* dbeta = dgamma ? ctx.Output(2, {g.c}) : nullptr;
  if (!dbeta) return;
  const double m = static_cast<double>(g.hw);
  // Per-part channel sums of Pb and Sb, added up after the join.
  std::vector<std::vector<double>> dgs(Threads(), std::vector<double>(g.c, 0.0)), dbs = dgs;
  const int parts = ForSamples(g, [&](int64_t first, int64_t last, int part) {
    std::vector<double> mean(g.c), r(g.c), sb(g.c), pb(g.c);
    std::vector<float> meanf(g.c), ca(g.c), cb(g.c), c0(g.c), scale(kPool ? g.c : 0), shift(scale.size());
    std::vector<float> masked(kRelu ? g.hw * g.c : 0);
    for (int64_t n = first; n < last; ++n) {
      const size_t offset = static_cast<size_t>(n * g.hw * g.c);
      const float* __restrict xs = x + offset;
      SampleStatistics(xs, g, eps, mean, r);
      if (kPool) Affine(gamma, y, mean, r, scale, shift);
      const float* __restrict bs =
          kPool   ? MaskedUpsample(xs, scale.data(), shift.data(), dy + offset / 4, masked.data(), g)
          : kRelu ? Mask(y + offset, dy + offset, masked.data(), g.hw * g.c)
                  : dy + offset;
      std::fill(sb.begin(), sb.end(), 0.0);
      std::fill(pb.begin(), pb.end(), 0.0);
      {
        double *__restrict sb_ = sb.data(), *__restrict pb_ = pb.data();
        const double* __restrict mean_ = mean.data();
        for (int64_t p = 0; p < g.hw; ++p)
          for (int64_t k = 0; k < g.c; ++k) {
            const double b = bs[p * g.c + k];
            sb_[k] += b;
            pb_[k] += b * (xs[p * g.c + k] - mean_[k]);
          }
      }
      for (int64_t k = 0; k < g.c; ++k) {
        pb[k] *= r[k];
        const double gr = gamma[k] * r[k];
        meanf[k] = static_cast<float>(mean[k]);
        ca[k] = static_cast<float>(gr);                     // times dy
        cb[k] = static_cast<float>(-gr * r[k] * pb[k] / m);  // times (x - mean)
        c0[k] = static_cast<float>(-gr * sb[k] / m);
        dgs[part][k] += pb[k];
        dbs[part][k] += sb[k];
      }
      float* __restrict dxs = dx + offset;
      const float *__restrict mf = meanf.data(), *__restrict ca_ = ca.data(), *__restrict cb_ = cb.data();
      const float* __restrict c0_ = c0.data();
      for (int64_t p = 0; p < g.hw; ++p)
        for (int64_t k = 0; k < g.c; ++k) {
          const int64_t i = p * g.c + k;
          dxs[i] = bs[i] * ca_[k] + (xs[i] - mf[k]) * cb_[k] + c0_[k];
        }
    }
  });
  for (int64_t k = 0; k < g.c; ++k) {
    double sum_g = 0, sum_b = 0;
    for (int part = 0; part < parts; ++part) sum_g += dgs[part][k], sum_b += dbs[part][k];
    dgamma[k] = static_cast<float>(sum_g);
    dbeta[k] = static_cast<float>(sum_b);
  }
}

// HoptmInstanceNormGradGrad(x, gamma, dy, gx, ggamma, gbeta) -> (d/dx, d/dgamma, d/ddy) of
// S = <gx, dx> + <ggamma, dgamma> + <gbeta, dbeta>. With a = gx, b = dy and per-group sums
// Sa, Sb, Pa = sum a xhat, Pb = sum b xhat, Q = sum a b, T = Q - Sa Sb/m - Pa Pb/m:
//   d/ddy = a gamma r + xhat (ggamma - gamma r Pa/m) + (gbeta - gamma r Sa/m)
//   d/dgamma = sum over n of r T
//   d/dx = xhat k1 + a k2 + b k3 + k4, where
//     k1 = -gamma r^2 T/m + 2 gamma r^2 Pa Pb/m^2 - ggamma r Pb/m,   k2 = -gamma r^2 Pb/m,
//     k3 = -gamma r^2 Pa/m + ggamma r,   k4 = gamma r^2 (Pb Sa + Pa Sb)/m^2 - ggamma r Sb/m.
// HoptmInstanceNormReluGradGrad(x, gamma, y, dy, gx, ggamma, gbeta): b is dy masked by y > 0, and so is d/ddy.
// HoptmInstanceNormReluPoolGradGrad(x, gamma, beta, dy, gx, ggamma, gbeta): dy pooled; b is MaskedUpsample's,
// d/ddy is PoolMasked's.
template <bool kRelu, bool kPool = false>
void ComputeGradGrad(void* kernel, TF_OpKernelContext* raw) {
  const float eps = static_cast<Kernel*>(kernel)->epsilon;
  Context ctx(raw);
  TF_Tensor *xt = nullptr, *gt = nullptr, *dyt = nullptr, *gxt = nullptr, *ggt = nullptr, *gbt = nullptr;
  const float* x = ctx.Input(0, &xt);
  const float* gamma = x ? ctx.Input(1, &gt) : nullptr;
  const int o = kRelu ? 1 : 0;  // inputs after gamma shift by one for y
  TF_Tensor* yt = nullptr;
  const float* y = kRelu && gamma ? ctx.Input(2, &yt) : nullptr;
  const float* dy = gamma && (!kRelu || y) ? ctx.Input(2 + o, &dyt) : nullptr;
  const float* gx = dy ? ctx.Input(3 + o, &gxt) : nullptr;
  const float* ggamma = gx ? ctx.Input(4 + o, &ggt) : nullptr;
  const float* gbeta = ggamma ? ctx.Input(5 + o, &gbt) : nullptr;
  Geometry g;
  std::vector<int64_t> dims, pooled;
  if (!gbeta || !ctx.Activation(xt, &g, &dims) || !ctx.Matches(gt, {g.c}, "gamma") ||
      (kPool && !PooledDims(ctx, dims, &pooled)) || !ctx.Matches(dyt, kPool ? pooled : dims, "dy") ||
      !ctx.Matches(gxt, dims, "gx") || !ctx.Matches(ggt, {g.c}, "ggamma") || !ctx.Matches(gbt, {g.c}, "gbeta") ||
      (kRelu && !ctx.Matches(yt, kPool ? std::vector<int64_t>{g.c} : dims, kPool ? "beta" : "y")))
    return;
  float* dx = ctx.Output(0, dims);
  float* dgamma = dx ? ctx.Output(1, {g.c}) : nullptr;
  float* ddy = dgamma ? ctx.Output(2, kPool ? pooled : dims) : nullptr;
  if (!ddy) return;
  const double m = static_cast<double>(g.hw);
  std::vector<std::vector<double>> dgs(Threads(), std::vector<double>(g.c, 0.0));
  const int parts = ForSamples(g, [&](int64_t first, int64_t last, int part) {
    std::vector<double> mean(g.c), r(g.c), sa(g.c), sb(g.c), pa(g.c), pb(g.c), q(g.c);
    std::vector<float> meanf(g.c), rf(g.c), k1(g.c), k2(g.c), k3(g.c), k4(g.c), ea(g.c), ex(g.c), e0(g.c);
    std::vector<float> masked(kRelu ? g.hw * g.c : 0), full(kPool ? g.hw * g.c : 0);
    std::vector<float> scale(kPool ? g.c : 0), shift(scale.size());
    for (int64_t n = first; n < last; ++n) {
      const size_t offset = static_cast<size_t>(n * g.hw * g.c);
      const float *__restrict xs = x + offset, *__restrict as = gx + offset;
      const float* __restrict ys = kRelu && !kPool ? y + offset : nullptr;
      SampleStatistics(xs, g, eps, mean, r);
      if (kPool) Affine(gamma, y, mean, r, scale, shift);
      const float* __restrict bs =
          kPool   ? MaskedUpsample(xs, scale.data(), shift.data(), dy + offset / 4, masked.data(), g)
          : kRelu ? Mask(ys, dy + offset, masked.data(), g.hw * g.c)
                  : dy + offset;
      for (auto* v : {&sa, &sb, &pa, &pb, &q}) std::fill(v->begin(), v->end(), 0.0);
      {
        // Raw, unaliased pointers: through std::vector the compiler cannot vectorise five accumulators.
        double *__restrict sa_ = sa.data(), *__restrict sb_ = sb.data(), *__restrict pa_ = pa.data();
        double *__restrict pb_ = pb.data(), *__restrict q_ = q.data();
        const double* __restrict mean_ = mean.data();
        for (int64_t p = 0; p < g.hw; ++p)
          for (int64_t k = 0; k < g.c; ++k) {
            const int64_t i = p * g.c + k;
            const double a = as[i], b = bs[i], c = xs[i] - mean_[k];
            sa_[k] += a;
            sb_[k] += b;
            pa_[k] += a * c;
            pb_[k] += b * c;
            q_[k] += a * b;
          }
      }
      for (int64_t k = 0; k < g.c; ++k) {
        const double rk = r[k], gm = gamma[k], gg = ggamma[k];
        pa[k] *= rk;
        pb[k] *= rk;
        const double t = q[k] - sa[k] * sb[k] / m - pa[k] * pb[k] / m;
        const double gr2 = gm * rk * rk;
        meanf[k] = static_cast<float>(mean[k]);
        rf[k] = static_cast<float>(rk);
        k1[k] = static_cast<float>(-gr2 * t / m + 2 * gr2 * pa[k] * pb[k] / (m * m) - gg * rk * pb[k] / m);
        k2[k] = static_cast<float>(-gr2 * pb[k] / m);
        k3[k] = static_cast<float>(-gr2 * pa[k] / m + gg * rk);
        k4[k] = static_cast<float>(gr2 * (pb[k] * sa[k] + pa[k] * sb[k]) / (m * m) - gg * rk * sb[k] / m);
        ea[k] = static_cast<float>(gm * rk);
        ex[k] = static_cast<float>(gg - gm * rk * pa[k] / m);
        e0[k] = static_cast<float>(gbeta[k] - gm * rk * sa[k] / m);
        dgs[part][k] += rk * t;
      }
      const float *__restrict mf = meanf.data(), *__restrict rf_ = rf.data(), *__restrict k1_ = k1.data();
      const float *__restrict k2_ = k2.data(), *__restrict k3_ = k3.data(), *__restrict k4_ = k4.data();
      const float *__restrict ea_ = ea.data(), *__restrict ex_ = ex.data(), *__restrict e0_ = e0.data();
      for (int64_t p = 0; p < g.hw; ++p) {
        const int64_t row = p * g.c;
        const float *__restrict xr = xs + row, *__restrict ar = as + row, *__restrict br = bs + row;
        const float* __restrict yr = kRelu && !kPool ? ys + row : nullptr;
        float *__restrict dxr = dx + offset + row, *__restrict ddyr = (kPool ? full.data() : ddy + offset) + row;
        // One loop per output: with both, the body needs more registers than there are and stays scalar.
        for (int64_t k = 0; k < g.c; ++k)
          dxr[k] = (xr[k] - mf[k]) * rf_[k] * k1_[k] + ar[k] * k2_[k] + br[k] * k3_[k] + k4_[k];
        for (int64_t k = 0; k < g.c; ++k) ddyr[k] = ar[k] * ea_[k] + (xr[k] - mf[k]) * rf_[k] * ex_[k] + e0_[k];
        // Masked in a loop of its own: a select inside the loop above keeps it scalar.
        if constexpr (kRelu && !kPool)
          for (int64_t k = 0; k < g.c; ++k) ddyr[k] = yr[k] > 0.f ? ddyr[k] : 0.f;
      }
      if constexpr (kPool) PoolMasked(xs, scale.data(), shift.data(), full.data(), ddy + offset / 4, g);
    }
  });
  for (int64_t k = 0; k < g.c; ++k) {
    double sum = 0;
    for (int part = 0; part < parts; ++part) sum += dgs[part][k];
    dgamma[k] = static_cast<float>(sum);
  }
}

// HoptmAvgPool2Grad(dy, input) -> dx, shaped like input: the gradient of the ConvNet's 2x2, stride 2, valid
// average pool, each dy spread over its window, / 4 (rows and columns the pool dropped get zero). TensorFlow's
// generic AvgPoolGrad takes ~1.5x as long. (Its forward AvgPool is as fast as a loop of ours.)
void ComputeAvgPool2Grad(void*, TF_OpKernelContext* raw) {
  Context ctx(raw);
  TF_Tensor *dyt = nullptr, *xt = nullptr;
  const float* dy = ctx.Input(0, &dyt);
  const float* x = dy ? ctx.Input(1, &xt) : nullptr;
  if (!x) return;
  if (TF_NumDims(xt) != 4) {
    ctx.Fail("input must be NHWC (rank 4)");
    return;
  }
  const int64_t n = TF_Dim(xt, 0), h = TF_Dim(xt, 1), w = TF_Dim(xt, 2), c = TF_Dim(xt, 3);
  const int64_t oh = h / 2, ow = w / 2;
  if (!ctx.Matches(dyt, {n, oh, ow, c}, "dy")) return;
  float* dx = ctx.Output(0, {n, h, w, c});
  if (!dx) return;
  ForSamples(Geometry{n, h * w, c}, [&](int64_t first, int64_t last, int) {
    for (int64_t b = first; b < last; ++b) {
      float* sample = dx + b * h * w * c;
      for (int64_t i = 0; i < h; ++i) {
        float* __restrict row = sample + i * w * c;
        if (i / 2 >= oh) {
          std::fill(row, row + w * c, 0.f);
          continue;
        }
        const float* __restrict src = dy + ((b * oh + i / 2) * ow) * c;
        for (int64_t j = 0; j < 2 * ow; ++j) {
          const float* __restrict g = src + (j / 2) * c;
          for (int64_t k = 0; k < c; ++k) row[j * c + k] = g[k] * 0.25f;
        }
        std::fill(row + 2 * ow * c, row + w * c, 0.f);
      }
    }
  });
}

// HoptmTranspose4(x) -> x permuted by the attribute perm (rank 4): the conv filters between PyTorch's OIHW,
// in which the parameter vector stores them, and the HWIO TensorFlow convolves with, 3 to 4 times a step per
// layer. A gather loop over a filter (< 1 MB, in cache) beats TensorFlow's Transpose and its perm tensor.
struct TransposeKernel {
  int64_t perm[4] = {0, 1, 2, 3};
};

void* CreateTransposeKernel(TF_OpKernelConstruction* construction) {
  auto* kernel = new TransposeKernel();
  TF_Status* status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrInt64List(construction, "perm", kernel->perm, 4, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(construction, status);
  TF_DeleteStatus(status);
  return kernel;
}

void DeleteTransposeKernel(void* kernel) { delete static_cast<TransposeKernel*>(kernel); }

void ComputeTranspose4(void* kernel, TF_OpKernelContext* raw) {
  const int64_t* perm = static_cast<TransposeKernel*>(kernel)->perm;
  Context ctx(raw);
  TF_Tensor* xt = nullptr;
  const float* x = ctx.Input(0, &xt);
  if (!x) return;
  if (TF_NumDims(xt) != 4) {
    ctx.Fail("x must have rank 4");
    return;
  }
  int64_t in[4], stride[4], out[4], from[4];
  for (int d = 0; d < 4; ++d) in[d] = TF_Dim(xt, d);
  stride[3] = 1;
  for (int d = 2; d >= 0; --d) stride[d] = stride[d + 1] * in[d + 1];
  for (int d = 0; d < 4; ++d) {
    if (perm[d] < 0 || perm[d] > 3) {
      ctx.Fail("perm must be a permutation of 0..3");
      return;
    }
    out[d] = in[perm[d]];
    from[d] = stride[perm[d]];
  }
  float* y = ctx.Output(0, {out[0], out[1], out[2], out[3]});
  if (!y) return;
  for (int64_t a = 0; a < out[0]; ++a)
    for (int64_t b = 0; b < out[1]; ++b)
      for (int64_t c = 0; c < out[2]; ++c) {
        const float* __restrict src = x + a * from[0] + b * from[1] + c * from[2];
        float* __restrict dst = y + ((a * out[1] + b) * out[2] + c) * out[3];
        for (int64_t d = 0; d < out[3]; ++d) dst[d] = src[d * from[3]];
      }
}

// HoptmSampleTaps(images, index, weight) -> out, shaped like images (rows of C floats, P = N x H x W pixels,
// T taps per pixel): out[p] = sum over t of weight[p, t] * images[index[p, t]]. HoptmSampleTapsAdjoint(dy,
// index, weight) -> dx: dx[index[p, t]] += weight[p, t] * dy[p]. The DSA's crop, flip, scale and rotate
// (shared/engine/ops/sample-taps.ts). One thread: a [10, 32, 32, 3] rotation is ~40,000 taps of 3 floats.
template <bool kAdjoint>
void ComputeSampleTaps(void*, TF_OpKernelContext* raw) {
  Context ctx(raw);
  TF_Tensor *xt = nullptr, *it = nullptr, *wt = nullptr;
  const float* x = ctx.Input(0, &xt);
  const int32_t* index = x ? ctx.InputInt32(1, &it) : nullptr;
  const float* weight = index ? ctx.Input(2, &wt) : nullptr;
  Geometry g;
  std::vector<int64_t> dims;
  if (!weight || !ctx.Activation(xt, &g, &dims)) return;
  const int64_t pixels = g.n * g.hw, count = TF_NumDims(it) == 1 ? TF_Dim(it, 0) : -1;
  if (pixels == 0 || count <= 0 || count % pixels != 0) {
    ctx.Fail("index must hold a whole number of taps per pixel (rank 1)");
    return;
  }
  if (!ctx.Matches(wt, {count}, "weight")) return;
  for (int64_t i = 0; i < count; ++i)
    if (index[i] < 0 || index[i] >= pixels) {
      ctx.Fail("index " + std::to_string(index[i]) + " is outside the " + std::to_string(pixels) + " pixels");
      return;
    }
  float* out = ctx.Output(0, dims);
  if (!out) return;
  const int64_t taps = count / pixels, c = g.c;
  std::fill(out, out + pixels * c, 0.f);
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t t = 0; t < taps; ++t) {
      const float w = weight[p * taps + t];
      const int64_t q = index[p * taps + t];
      const float* __restrict src = x + (kAdjoint ? p : q) * c;
      float* __restrict dst = out + (kAdjoint ? q : p) * c;
      for (int64_t k = 0; k < c; ++k) dst[k] += w * src[k];
    }
}

// HoptmBinary(a, b) -> a + b, a - b or a * b (attr op: 0, 1, 2), float32, b the shape of a or a scalar, on
// the calling thread. TensorFlow splits a 318,000-element multiply (the meta-gradient's parameter vectors)
// over its intra-op pool; on a 2-core VM the hand-off costs several times the work (~450 us against ~60).
struct BinaryKernel {
  int64_t op = 0;
};

void* CreateBinaryKernel(TF_OpKernelConstruction* construction) {
  auto* kernel = new BinaryKernel();
  TF_Status* status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrInt64(construction, "op", &kernel->op, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(construction, status);
  TF_DeleteStatus(status);
  return kernel;
}

void DeleteBinaryKernel(void* kernel) { delete static_cast<BinaryKernel*>(kernel); }

template <typename F>
void Elementwise(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t n, bool scalar,
                 F f) {
  if (scalar) {
    const float s = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], s);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  }
}

void ComputeBinary(void* kernel, TF_OpKernelContext* raw) {
  const int64_t op = static_cast<BinaryKernel*>(kernel)->op;
  Context ctx(raw);
  TF_Tensor *at = nullptr, *bt = nullptr;
  const float* a = ctx.Input(0, &at);
  const float* b = a ? ctx.Input(1, &bt) : nullptr;
  if (!b) return;
  std::vector<int64_t> dims;
  for (int i = 0; i < TF_NumDims(at); ++i) dims.push_back(TF_Dim(at, i));
  const int64_t n = TF_TensorElementCount(at);
  const bool scalar = TF_TensorElementCount(bt) == 1 && n != 1;
  if (!scalar && !ctx.Matches(bt, dims, "b")) return;
  float* y = ctx.Output(0, dims);
  if (!y) return;
  if (op == 0) Elementwise(a, b, y, n, scalar, [](float u, float v) { return u + v; });
  else if (op == 1) Elementwise(a, b, y, n, scalar, [](float u, float v) { return u - v; });
  else Elementwise(a, b, y, n, scalar, [](float u, float v) { return u * v; });
}

void* CreateKernel(TF_OpKernelConstruction* construction) {
  auto* kernel = new Kernel();
  TF_Status* status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrFloat(construction, "epsilon", &kernel->epsilon, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(construction, status);
  TF_DeleteStatus(status);
  return kernel;
}

// For the ops without an epsilon attribute.
void* CreatePlainKernel(TF_OpKernelConstruction*) { return new Kernel(); }

void DeleteKernel(void* kernel) { delete static_cast<Kernel*>(kernel); }

// Output i has the shape of input `from[i]`.
template <int... From>
void ShapeLikeInputs(TF_ShapeInferenceContext* ctx, TF_Status* status) {
  const int from[] = {From...};
  TF_ShapeHandle* handle = TF_NewShapeHandle();
  for (int i = 0; i < static_cast<int>(sizeof...(From)) && TF_GetCode(status) == TF_OK; ++i) {
    TF_ShapeInferenceContextGetInput(ctx, from[i], handle, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, i, handle, status);
  }
  TF_DeleteShapeHandle(handle);
}

struct OpSpec {
  const char* name;
  std::vector<const char*> inputs, outputs;
  void (*shape)(TF_ShapeInferenceContext*, TF_Status*);
  void (*compute)(void*, TF_OpKernelContext*);
  bool epsilon = true;
  const char* attr = nullptr;  // another attribute instead of epsilon
  void* (*create)(TF_OpKernelConstruction*) = nullptr;
  void (*destroy)(void*) = nullptr;
};

// The pool's output shape is not an input's; eager execution does not need it.
void UnknownShape(TF_ShapeInferenceContext*, TF_Status*) {}

std::string RegisterAll() {
  const std::vector<OpSpec> specs = {
      {"HoptmInstanceNorm", {"x: float", "gamma: float", "beta: float"}, {"y: float"}, ShapeLikeInputs<0>,
       ComputeForward<false>},
      {"HoptmInstanceNormGrad",
       {"x: float", "gamma: float", "dy: float"},
       {"dx: float", "dgamma: float", "dbeta: float"},
       ShapeLikeInputs<0, 1, 1>,
       ComputeGrad<false>},
      {"HoptmInstanceNormGradGrad",
       {"x: float", "gamma: float", "dy: float", "gx: float", "ggamma: float", "gbeta: float"},
       {"dx: float", "dgamma: float", "ddy: float"},
       ShapeLikeInputs<0, 1, 0>,
       ComputeGradGrad<false>},
      {"HoptmInstanceNormRelu", {"x: float", "gamma: float", "beta: float"}, {"y: float"}, ShapeLikeInputs<0>,
       ComputeForward<true>},
      {"HoptmInstanceNormReluGrad",
       {"x: float", "gamma: float", "y: float", "dy: float"},
       {"dx: float", "dgamma: float", "dbeta: float"},
       ShapeLikeInputs<0, 1, 1>,
       ComputeGrad<true>},
      {"HoptmInstanceNormReluGradGrad",
       {"x: float", "gamma: float", "y: float", "dy: float", "gx: float", "ggamma: float", "gbeta: float"},
       {"dx: float", "dgamma: float", "ddy: float"},
       ShapeLikeInputs<0, 1, 0>,
       ComputeGradGrad<true>},
      {"HoptmInstanceNormReluPool", {"x: float", "gamma: float", "beta: float"}, {"y: float"}, UnknownShape,
       ComputeForward<true, true>},
      {"HoptmInstanceNormReluPoolGrad",
       {"x: float", "gamma: float", "beta: float", "dy: float"},
       {"dx: float", "dgamma: float", "dbeta: float"},
       ShapeLikeInputs<0, 1, 1>,
       ComputeGrad<true, true>},
      {"HoptmInstanceNormReluPoolGradGrad",
       {"x: float", "gamma: float", "beta: float", "dy: float", "gx: float", "ggamma: float", "gbeta: float"},
       {"dx: float", "dgamma: float", "ddy: float"},
       ShapeLikeInputs<0, 1, 3>,
       ComputeGradGrad<true, true>},
      {"HoptmSampleTaps", {"images: float", "index: int32", "weight: float"}, {"out: float"}, ShapeLikeInputs<0>,
       ComputeSampleTaps<false>, false},
      {"HoptmSampleTapsAdjoint", {"dy: float", "index: int32", "weight: float"}, {"dx: float"}, ShapeLikeInputs<0>,
       ComputeSampleTaps<true>, false},
      {"HoptmBinary", {"a: float", "b: float"}, {"y: float"}, ShapeLikeInputs<0>, ComputeBinary, false, "op: int",
       CreateBinaryKernel, DeleteBinaryKernel},
      {"HoptmAvgPool2Grad", {"dy: float", "input: float"}, {"dx: float"}, ShapeLikeInputs<1>, ComputeAvgPool2Grad,
       false},
      {"HoptmTranspose4", {"x: float"}, {"y: float"}, UnknownShape, ComputeTranspose4, false, "perm: list(int)",
       CreateTransposeKernel, DeleteTransposeKernel},
  };
  TF_Status* status = TF_NewStatus();
  std::string error;
  for (const OpSpec& spec : specs) {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder(spec.name);
    for (const char* in : spec.inputs) TF_OpDefinitionBuilderAddInput(op, in);
    for (const char* out : spec.outputs) TF_OpDefinitionBuilderAddOutput(op, out);
    if (spec.epsilon) TF_OpDefinitionBuilderAddAttr(op, "epsilon: float = 1e-5");
    if (spec.attr != nullptr) TF_OpDefinitionBuilderAddAttr(op, spec.attr);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, spec.shape);
    TF_RegisterOpDefinition(op, status);
    if (TF_GetCode(status) != TF_OK) {
      error = std::string(spec.name) + ": " + TF_Message(status);
      break;
    }
    TF_KernelBuilder* builder = TF_NewKernelBuilder(
        spec.name, "CPU", spec.create ? spec.create : spec.epsilon ? CreateKernel : CreatePlainKernel, spec.compute,
        spec.destroy ? spec.destroy : DeleteKernel);
    TF_RegisterKernelBuilder(spec.name, builder, status);
    if (TF_GetCode(status) != TF_OK) {
      error = std::string(spec.name) + " kernel: " + TF_Message(status);
      break;
    }
  }
  TF_DeleteStatus(status);
  return error;
}

}  // namespace

// Registration runs once per process (TensorFlow's registries are global; Node may load the addon
// again in each worker thread).
NAPI_MODULE_INIT() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] { error = RegisterAll(); });
  if (!error.empty()) {
    napi_throw_error(env, nullptr, ("hoptm TensorFlow ops: " + error).c_str());
    return nullptr;
  }
  napi_value ops;
  napi_create_string_utf8(env,
                          "HoptmInstanceNorm,HoptmInstanceNormGrad,HoptmInstanceNormGradGrad,"
                          "HoptmInstanceNormRelu,HoptmInstanceNormReluGrad,HoptmInstanceNormReluGradGrad,"
                          "HoptmInstanceNormReluPool,HoptmInstanceNormReluPoolGrad,HoptmInstanceNormReluPoolGradGrad,"
                          "HoptmSampleTaps,HoptmSampleTapsAdjoint,HoptmBinary,HoptmAvgPool2Grad,HoptmTranspose4",
                          NAPI_AUTO_LENGTH, &ops);
  napi_set_named_property(env, exports, "ops", ops);
  return exports;
}
