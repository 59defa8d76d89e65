# Included by the Makefile's llama-cpp-python build (CMAKE_ARGS=-DCMAKE_PROJECT_llama.cpp_INCLUDE=<this file>),
# right after vendor/llama.cpp's project() call. llama-cpp-python's CMakeLists forces LLAMA_BUILD_COMMON ON in
# the cache, so -DLLAMA_BUILD_COMMON=OFF cannot turn it off; a normal variable in llama.cpp's own scope can
# (policy CMP0077: option() leaves it alone). The Python package never loads libllama-common (its ctypes code
# loads libllama, libggml* and, for images, libmtmd), so this skips common/ and cpp-httplib, ~57 of the 140 build
# steps left once LLAVA_BUILD=OFF has dropped mtmd.
set(LLAMA_BUILD_COMMON OFF)
