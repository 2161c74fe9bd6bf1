# Owned by the CUDA backend work: list .cu/.cpp sources here (compiled only with LOGITSCOPE_CUDA).
list(APPEND LOGITSCOPE_CUDA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/layout.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_moe.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_readback.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_load.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_choose.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tools.cpp
  ${CMAKE_CURRENT_LIST_DIR}/check_tool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/launch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/kernels/gemv.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/gemv_quant.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/norm.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/mamba.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/mamba_scan.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/attention.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/attention_prompt.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/attention_decode.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/attention_decode_mma.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/moe.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/experts_decode.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/experts_decode_quant.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/experts_grouped.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/elementwise.cu
  ${CMAKE_CURRENT_LIST_DIR}/kernels/sampling.cu)
