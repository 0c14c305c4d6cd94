# Third-party dependencies: LibTorch from the pinned PyTorch wheel (tools/setup.sh passes its
# prefix in CMAKE_PREFIX_PATH), everything else from Debian's packages.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)

if(NOT CREPE_FUZZ)  # the fuzz build links no LibTorch
if(NOT Torch_DIR AND NOT CMAKE_PREFIX_PATH MATCHES "torch")
  # Fall back to the project's own virtual environment, where tools/setup.sh installs torch.
  file(GLOB _crepe_torch_dirs "${CMAKE_CURRENT_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch/share/cmake/Torch")
  if(_crepe_torch_dirs)
    list(GET _crepe_torch_dirs 0 Torch_DIR)
  endif()
endif()
# LibTorch's CMake config, for a CUDA build of the wheel, insists on a CUDA toolkit (nvcc, cudart),
# though programs that only call its C++ API, like ours, compile no CUDA code and need none: the
# wheel's libraries find their CUDA libraries (the nvidia-* wheels) through their own run paths.
# Where no toolkit is installed (the container image's build stage) we describe LibTorch's
# libraries ourselves, as its config would: same libraries, include folders and definitions.
find_program(CREPE_NVCC nvcc HINTS ENV CUDA_HOME PATHS /usr/local/cuda/bin)
set(_crepe_torch_prefix "")
if(Torch_DIR)
  get_filename_component(_crepe_torch_prefix "${Torch_DIR}/../../.." ABSOLUTE)
elseif(CMAKE_PREFIX_PATH MATCHES "torch")
  foreach(_p IN LISTS CMAKE_PREFIX_PATH)
    if(EXISTS "${_p}/Torch/TorchConfig.cmake")
      get_filename_component(_crepe_torch_prefix "${_p}/../.." ABSOLUTE)
    endif()
  endforeach()
endif()
option(CREPE_TORCH_WITHOUT_CUDA_TOOLKIT "Link LibTorch (a CUDA build) without its CMake config, which needs a CUDA toolkit" OFF)
if(NOT CREPE_NVCC AND _crepe_torch_prefix AND EXISTS "${_crepe_torch_prefix}/lib/libtorch_cuda.so")
  set(CREPE_TORCH_WITHOUT_CUDA_TOOLKIT ON)
endif()
if(CREPE_TORCH_WITHOUT_CUDA_TOOLKIT)
  set(_l "${_crepe_torch_prefix}/lib")
  add_library(torch SHARED IMPORTED)
  set_target_properties(torch PROPERTIES
    IMPORTED_LOCATION "${_l}/libtorch.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_crepe_torch_prefix}/include;${_crepe_torch_prefix}/include/torch/csrc/api/include"
    INTERFACE_COMPILE_DEFINITIONS "USE_DISTRIBUTED;USE_C10D_GLOO;USE_RPC;USE_TENSORPIPE;USE_NVSHMEM;USE_C10D_NCCL"
    # libtorch_cuda registers the CUDA device when loaded: linked even though nothing names it.
    INTERFACE_LINK_LIBRARIES "-Wl,--no-as-needed,${_l}/libtorch_cpu.so,${_l}/libtorch_cuda.so -Wl,--as-needed;${_l}/libc10_cuda.so;${_l}/libc10.so")
  set(TORCH_LIBRARIES torch)
  file(STRINGS "${_crepe_torch_prefix}/version.py" _crepe_torch_version REGEX "^__version__")
  string(REGEX REPLACE ".*'(.*)'.*" "\\1" Torch_VERSION "${_crepe_torch_version}")
  set(Torch_DIR "${_crepe_torch_prefix}/share/cmake/Torch")
  message(STATUS "No CUDA toolkit: linking LibTorch's CUDA build directly")
else()
  find_package(Torch REQUIRED)
endif()
message(STATUS "LibTorch ${Torch_VERSION} from ${Torch_DIR}")

endif()

# The torch wheel's libtorch*.so export their own (statically linked) std::filesystem symbols,
# and a program that loads libtorch before libstdc++ resolves its std::filesystem calls to them:
# std::filesystem::remove_all then crashes. Naming libstdc++ ahead of LibTorch puts it first in
# the dynamic linker's search order, so our std::filesystem calls bind to the system library.
add_library(crepe_torch INTERFACE)
target_link_libraries(crepe_torch INTERFACE "-Wl,--push-state,--no-as-needed" stdc++ "-Wl,--pop-state"
                      ${TORCH_LIBRARIES})

# gRPC and Protobuf are needed only by the service (proto/, rpc/, server/, client/): the core
# library and crepe-predict build without them (e.g. on a GPU machine that has no gRPC).
# Protobuf is taken from pkg-config, not FindProtobuf: LibTorch's CMake files define their own
# protobuf::libprotobuf target.
pkg_check_modules(PROTOBUF QUIET IMPORTED_TARGET protobuf)
if(PROTOBUF_FOUND AND NOT TARGET protobuf::libprotobuf)
  # gRPC's CMake config names this target; LibTorch's config defines it, our direct linking does not.
  add_library(protobuf::libprotobuf INTERFACE IMPORTED)
  target_link_libraries(protobuf::libprotobuf INTERFACE PkgConfig::PROTOBUF)
endif()
find_program(CREPE_PROTOC protoc)
find_package(gRPC CONFIG QUIET)
pkg_check_modules(MICROHTTPD QUIET IMPORTED_TARGET libmicrohttpd)  # crepe-server's metrics endpoint
# google/rpc/*.proto (standard error details) from PyPI's googleapis-common-protos in .venv.
file(GLOB _crepe_site_packages "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages")
find_path(CREPE_GOOGLEAPIS_PROTO_DIR google/rpc/error_details.proto HINTS ${_crepe_site_packages}
          DOC "Folder holding google/rpc/status.proto and error_details.proto (googleapis-common-protos)")
if(PROTOBUF_FOUND AND CREPE_PROTOC AND gRPC_FOUND AND TARGET gRPC::grpc_cpp_plugin AND NOT CREPE_GOOGLEAPIS_PROTO_DIR)
  message(WARNING "gRPC found but not google/rpc/error_details.proto (pip install googleapis-common-protos into "
                  ".venv, as tools/setup.sh does): crepe-server and crepe-client are not built")
endif()
if(PROTOBUF_FOUND AND CREPE_PROTOC AND gRPC_FOUND AND TARGET gRPC::grpc_cpp_plugin AND CREPE_GOOGLEAPIS_PROTO_DIR
   AND NOT MICROHTTPD_FOUND AND NOT CREPE_FUZZ)
  message(WARNING "gRPC found but not libmicrohttpd (apt-get install libmicrohttpd-dev, as tools/setup.sh does): "
                  "crepe-server and crepe-client are not built")
endif()
if(PROTOBUF_FOUND AND CREPE_PROTOC AND gRPC_FOUND AND TARGET gRPC::grpc_cpp_plugin AND CREPE_GOOGLEAPIS_PROTO_DIR
   AND (MICROHTTPD_FOUND OR CREPE_FUZZ))
  set(CREPE_HAVE_GRPC ON)
  message(STATUS "gRPC ${gRPC_VERSION} and Protobuf ${PROTOBUF_VERSION}: building crepe-server and crepe-client")
else()
  set(CREPE_HAVE_GRPC OFF)
  message(STATUS "gRPC or Protobuf not found: crepe-server and crepe-client are not built")
endif()

# The same, for programs that also use gRPC: LibTorch's headers bundle their own (older)
# google/protobuf, which must not shadow the system's, so only its libraries are linked.
add_library(crepe_torch_link_only INTERFACE)
set(_crepe_torch_link_only "-Wl,--push-state,--no-as-needed" stdc++ "-Wl,--pop-state")
foreach(_lib IN LISTS TORCH_LIBRARIES)
  list(APPEND _crepe_torch_link_only "$<LINK_ONLY:${_lib}>")
endforeach()
target_link_libraries(crepe_torch_link_only INTERFACE ${_crepe_torch_link_only})
