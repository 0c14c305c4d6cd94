# Third-party dependencies: LibTorch from the pinned PyTorch wheel (tools/setup.sh passes its
# prefix in CMAKE_PREFIX_PATH), everything else from Debian's packages.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)

if(NOT Torch_DIR AND NOT CMAKE_PREFIX_PATH MATCHES "torch")
  # Fall back to the project's own virtual environment, where tools/setup.sh installs torch.
  file(GLOB _crepe_torch_dirs "${CMAKE_CURRENT_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch/share/cmake/Torch")
  if(_crepe_torch_dirs)
    list(GET _crepe_torch_dirs 0 Torch_DIR)
  endif()
endif()
find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION} from ${Torch_DIR}")

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
find_program(CREPE_PROTOC protoc)
find_package(gRPC CONFIG QUIET)
# google/rpc/*.proto (standard error details) from PyPI's googleapis-common-protos in .venv.
file(GLOB _crepe_site_packages "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages")
find_path(CREPE_GOOGLEAPIS_PROTO_DIR google/rpc/error_details.proto HINTS ${_crepe_site_packages}
          DOC "Folder holding google/rpc/status.proto and error_details.proto (googleapis-common-protos)")
if(PROTOBUF_FOUND AND CREPE_PROTOC AND gRPC_FOUND AND TARGET gRPC::grpc_cpp_plugin AND NOT CREPE_GOOGLEAPIS_PROTO_DIR)
  message(WARNING "gRPC found but not google/rpc/error_details.proto (pip install googleapis-common-protos into "
                  ".venv, as tools/setup.sh does): crepe-server and crepe-client are not built")
endif()
if(PROTOBUF_FOUND AND CREPE_PROTOC AND gRPC_FOUND AND TARGET gRPC::grpc_cpp_plugin AND CREPE_GOOGLEAPIS_PROTO_DIR)
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
