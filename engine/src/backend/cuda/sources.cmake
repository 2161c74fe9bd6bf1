# Owned by the CUDA backend work: list .cu/.cpp sources here (compiled only with LOGITSCOPE_CUDA).
list(APPEND LOGITSCOPE_CUDA_SOURCES)
