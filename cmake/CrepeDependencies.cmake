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
