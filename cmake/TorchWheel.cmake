# LibTorch from the PyPI torch wheel in the project's .venv (packaging/setup.sh installs it).
# The wheel's own CMake config insists on a matching CUDA toolkit; we only need its headers and
# shared libraries, so this defines the imported target `prunestudio::torch` directly. The CUDA
# libraries are linked without --as-needed so CUDA registers at load time and is picked at run
# time when a GPU is present; without one the binaries still load and run on the CPU.
set(PRUNESTUDIO_TORCH_DIR "" CACHE PATH "Folder of the installed torch package (…/site-packages/torch)")
if(NOT PRUNESTUDIO_TORCH_DIR)
  file(GLOB _torch_candidates "${CMAKE_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch")
  list(LENGTH _torch_candidates _n)
  if(_n EQUAL 0)
    message(FATAL_ERROR "torch not found in ${CMAKE_SOURCE_DIR}/.venv: run packaging/setup.sh first")
  endif()
  list(GET _torch_candidates 0 _torch_dir)
  set(PRUNESTUDIO_TORCH_DIR ${_torch_dir} CACHE PATH "" FORCE)
endif()
set(_tl ${PRUNESTUDIO_TORCH_DIR}/lib)
if(NOT EXISTS ${_tl}/libtorch_cpu.so)
  message(FATAL_ERROR "${_tl}/libtorch_cpu.so missing: is PRUNESTUDIO_TORCH_DIR a torch package folder?")
endif()

add_library(prunestudio_torch INTERFACE)
add_library(prunestudio::torch ALIAS prunestudio_torch)
target_include_directories(prunestudio_torch SYSTEM INTERFACE
  ${PRUNESTUDIO_TORCH_DIR}/include ${PRUNESTUDIO_TORCH_DIR}/include/torch/csrc/api/include)
target_compile_definitions(prunestudio_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
set(_torch_libs ${_tl}/libtorch.so ${_tl}/libtorch_cpu.so ${_tl}/libc10.so)
if(EXISTS ${_tl}/libtorch_cuda.so)
  list(APPEND _torch_libs ${_tl}/libtorch_cuda.so ${_tl}/libc10_cuda.so)
  set(PRUNESTUDIO_TORCH_CUDA ON)
endif()
# libtorch.so exports its own copies of some std::filesystem functions; listing libstdc++ first
# makes every binary bind those symbols to the system library (as a Python process does).
target_link_libraries(prunestudio_torch INTERFACE stdc++ ${_torch_libs})
target_link_options(prunestudio_torch INTERFACE "LINKER:--no-as-needed")
message(STATUS "LibTorch: ${PRUNESTUDIO_TORCH_DIR} (CUDA libraries: ${PRUNESTUDIO_TORCH_CUDA})")
