// SPDX-License-Identifier: GPL-3.0-or-later
// Does compute-sanitizer's initcheck see what cuBLAS writes? A bf16 GEMM with fp32 output (the call
// the CUDA backend makes for every prompt linear) writes y; then (1) a kernel reads y and (2) y is
// copied to the host. Run: compute-sanitizer --tool initcheck initcheck_cublas_probe [rows cols T].
// If initcheck reports reads of y, it is blind to the GEMM's stores (they are initialised: the
// program prints y's checksum against the host's own product).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

__global__ void read_all(const float* y, int n, float* sum) {
  float s = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += y[i];
  atomicAdd(sum, s);
}

int main(int argc, char** argv) {
  const int rows = argc > 1 ? std::atoi(argv[1]) : 1024, cols = argc > 2 ? std::atoi(argv[2]) : 256,
            T = argc > 3 ? std::atoi(argv[3]) : 12;
  std::vector<__nv_bfloat16> w(std::size_t(rows) * cols), x(std::size_t(T) * cols);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = __float2bfloat16(float((i * 7) % 13) / 13.0f - 0.5f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = __float2bfloat16(float((i * 5) % 11) / 11.0f - 0.5f);
  __nv_bfloat16 *dw, *dx;
  float *dy, *dsum;
  cudaMalloc(&dw, w.size() * 2);
  cudaMalloc(&dx, x.size() * 2);
  cudaMalloc(&dy, std::size_t(rows) * T * 4);
  cudaMalloc(&dsum, 4);
  cudaMemcpy(dw, w.data(), w.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(dx, x.data(), x.size() * 2, cudaMemcpyHostToDevice);
  cudaMemset(dsum, 0, 4);
  cublasHandle_t h;
  cublasCreate(&h);
  const float alpha = 1.0f, beta = 0.0f;
  const cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, rows, T, cols, &alpha, dw, CUDA_R_16BF, cols, dx,
                                         CUDA_R_16BF, cols, &beta, dy, CUDA_R_32F, rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  read_all<<<1, 256>>>(dy, rows * T, dsum);
  std::vector<float> y(std::size_t(rows) * T);
  cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost);
  double max_err = 0;
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < rows; ++r) {
      double ref = 0;
      for (int c = 0; c < cols; ++c)
        ref += double(__bfloat162float(w[std::size_t(r) * cols + c])) * __bfloat162float(x[std::size_t(t) * cols + c]);
      max_err = std::max(max_err, std::fabs(ref - y[std::size_t(t) * rows + r]));
    }
  std::printf("cublasGemmEx status %d; every output written: max |y - host product| = %.3g over %d values\n", int(st), max_err,
              rows * T);
  return max_err < 1e-2 ? 0 : 1;
}
