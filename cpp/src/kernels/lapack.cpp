#include "kernels/lapack.h"

#include <vector>

#if !defined(GRADTAPE_SYSTEM_BLAS)
#include <lapacke.h>  // scipy-openblas32's, its symbols prefixed scipy_
#endif

namespace gt::kernels {

#if defined(GRADTAPE_SYSTEM_BLAS)

bool lapack_symmetric_eigen(const double*, int64_t, double*, double*) { return false; }
bool lapack_tall_svd(const double*, int64_t, int64_t, double*, double*, int64_t, double*) { return false; }

#else

namespace {
bool fits(int64_t n) { return n < (int64_t(1) << 30); }  // lapack_int is 32-bit here
}  // namespace

bool lapack_symmetric_eigen(const double* a, int64_t n, double* w, double* v) {
  if (!fits(n * n)) return false;
  // LAPACK overwrites a with the eigenvectors as columns (column-major: v's transpose in
  // row-major terms), so it works on v and transposes after
  std::vector<double> work(a, a + n * n);
  const lapack_int info = scipy_LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', lapack_int(n), work.data(), lapack_int(n), w);
  if (info != 0) return false;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) v[i * n + j] = work[size_t(j * n + i)];
  return true;
}

bool lapack_tall_svd(const double* a, int64_t m, int64_t n, double* s, double* u, int64_t ucols, double* v) {
  if (!fits(m * n) || !fits(m * ucols)) return false;
  std::vector<double> copy(a, a + m * n), vt(size_t(n * n));
  const lapack_int info = scipy_LAPACKE_dgesdd(LAPACK_ROW_MAJOR, ucols == n ? 'S' : 'A', lapack_int(m), lapack_int(n),
                                               copy.data(), lapack_int(n), s, u, lapack_int(ucols), vt.data(),
                                               lapack_int(n));
  if (info != 0) return false;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) v[i * n + j] = vt[size_t(j * n + i)];
  return true;
}

#endif

}  // namespace gt::kernels
