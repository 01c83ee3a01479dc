// The pairwise tile engine (L1, L-inf, dot products), written once against a SIMD traits class S:
//   S::T, S::V, S::kLanes, S::kRows, S::kCols, S::zero(), S::load(p), S::broadcast(p),
//   S::set1(t), S::absdiff(a, b), S::add(a, b), S::max(a, b), S::mul(a, b),
//   S::fma(a, b, c) = a * b + c, S::sqrt(a), S::store(p, v)
// Each variant file defines S and includes this file inside its own
// `#pragma GCC target` region, so every function here is compiled for that
// instruction set and for no other. (Deliberately no include guard.)
//
// Vectorised across anchors: a vector holds one coordinate of kLanes
// consecutive anchors (the anchors are packed transposed, in panels of one
// tile's width, so a micro-tile reads one contiguous panel). A micro-tile of
// S::kRows samples x S::kCols vectors keeps S::kRows * S::kCols accumulators
// in registers; per coordinate it loads S::kCols anchor vectors and
// broadcasts S::kRows sample values. The tile's shape is the variant's: it
// must leave registers for the loads (16 vector registers on AVX2, 32 on
// AVX-512). A block of kBlockRows samples stays in L2 while every
// anchor tile streams past it.
//
// Reduce::dot is the same engine with a fused multiply-add: a GEMM whose
// micro-tile finishes each value in registers before storing it (cosine's
// row scaling, Euclidean's norms and square root), so the [n, k] result is
// written once and never read back.

namespace tiles {

constexpr int64_t kBlockRows = 96;

template <class S>
constexpr int64_t tile_width() {
  return int64_t{S::kLanes} * S::kCols;
}

// The finished value of accumulator v for sample row i and the anchors of
// vector column j (Reduce::dot only).
template <class S>
inline __attribute__((always_inline)) typename S::V finish(typename S::V v, const Epilogue<typename S::T>& e,
                                                           int64_t i, int64_t j) {
  switch (e.finish) {
    case Finish::none: return v;
    case Finish::scale_rows: return S::mul(v, S::broadcast(e.row + i));
    case Finish::euclidean: {  // sqrt(max(|x_i|^2 + |a_j|^2 - 2 <x_i, a_j>, 0))
      const typename S::V norms = S::add(S::broadcast(e.row + i), S::load(e.col + j));
      return S::sqrt(S::max(S::fma(v, S::set1(-2), norms), S::zero()));
    }
  }
  return v;
}

template <class S, Reduce R, int Rows>
inline __attribute__((always_inline)) void micro_tile(const typename S::T* __restrict x, int64_t d,
                                                      const typename S::T* __restrict at, int64_t j0,
                                                      int64_t k, typename S::T* __restrict out,
                                                      const Epilogue<typename S::T>& e, int64_t i) {
  using T = typename S::T;
  using V = typename S::V;
  V acc[Rows][S::kCols];
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < S::kCols; ++c) acc[r][c] = S::zero();
  const T* a = at + j0 * d;  // the panel of anchors j0 ... j0 + tile_width - 1
  for (int64_t t = 0; t < d; ++t, a += tile_width<S>()) {
    V av[S::kCols];
#pragma GCC unroll 4
    for (int c = 0; c < S::kCols; ++c) av[c] = S::load(a + c * S::kLanes);
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
      const V xv = S::broadcast(x + r * d + t);
#pragma GCC unroll 4
      for (int c = 0; c < S::kCols; ++c) {
        if constexpr (R == Reduce::dot) {
          acc[r][c] = S::fma(xv, av[c], acc[r][c]);
        } else {
          const V diff = S::absdiff(xv, av[c]);
          acc[r][c] = R == Reduce::sum ? S::add(acc[r][c], diff) : S::max(acc[r][c], diff);
        }
      }
    }
  }
  if constexpr (R == Reduce::dot)
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
      for (int c = 0; c < S::kCols; ++c) acc[r][c] = finish<S>(acc[r][c], e, i + r, j0 + c * S::kLanes);
  const int64_t width = k - j0 < tile_width<S>() ? k - j0 : tile_width<S>();
  for (int r = 0; r < Rows; ++r) {
    if (width == tile_width<S>()) {
#pragma GCC unroll 4
      for (int c = 0; c < S::kCols; ++c) S::store(out + r * k + j0 + c * S::kLanes, acc[r][c]);
    } else {  // the last, partial tile: through a buffer, never past row end
      T buffer[tile_width<S>()];
      for (int c = 0; c < S::kCols; ++c) S::store(buffer + c * S::kLanes, acc[r][c]);
      for (int64_t j = 0; j < width; ++j) out[r * k + j0 + j] = buffer[j];
    }
  }
}

// The last rows of a block, fewer than a micro-tile: a tile of exactly `left` rows.
template <class S, Reduce R, int Rows>
inline __attribute__((always_inline)) void tail(int64_t left, const typename S::T* x, int64_t d,
                                                const typename S::T* at, int64_t j0, int64_t k,
                                                typename S::T* out, const Epilogue<typename S::T>& e, int64_t i) {
  if constexpr (Rows > 0) {
    if (left == Rows)
      micro_tile<S, R, Rows>(x, d, at, j0, k, out, e, i);
    else
      tail<S, R, Rows - 1>(left, x, d, at, j0, k, out, e, i);
  }
}

template <class S, Reduce R>
inline __attribute__((always_inline)) void rows(const typename S::T* x, int64_t i0, int64_t i1, int64_t d,
                                                const typename S::T* at, int64_t k, typename S::T* out,
                                                const Epilogue<typename S::T>& e) {
  for (int64_t b0 = i0; b0 < i1; b0 += kBlockRows) {
    const int64_t b1 = i1 < b0 + kBlockRows ? i1 : b0 + kBlockRows;
    for (int64_t j0 = 0; j0 < k; j0 += tile_width<S>()) {
      int64_t i = b0;
      for (; i + S::kRows <= b1; i += S::kRows)
        micro_tile<S, R, S::kRows>(x + i * d, d, at, j0, k, out + i * k, e, i);
      tail<S, R, S::kRows - 1>(b1 - i, x + i * d, d, at, j0, k, out + i * k, e, i);
    }
  }
}

template <class S>
void rows_dispatch(const typename S::T* x, int64_t i0, int64_t i1, int64_t d, const typename S::T* at, int64_t k,
                   typename S::T* out, Reduce reduce, const Epilogue<typename S::T>& e) {
  switch (reduce) {
    case Reduce::sum: rows<S, Reduce::sum>(x, i0, i1, d, at, k, out, e); break;
    case Reduce::max: rows<S, Reduce::max>(x, i0, i1, d, at, k, out, e); break;
    case Reduce::dot: rows<S, Reduce::dot>(x, i0, i1, d, at, k, out, e); break;
  }
}

}  // namespace tiles
