# cmake/toolchain-aarch64-linux-gnu.cmake — cross-compiles for 64-bit ARM Linux with Debian's
# g++-aarch64-linux-gnu; test binaries run under qemu-user (scripts/test_aarch64.sh).
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# The target's libraries and headers (libc, libstdc++) live in Debian's multiarch cross root.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages may come from the host too: the cross build uses only arch-independent ones
# (nlohmann_json, header-only, for tests/); GoogleTest is built from source (CMakeLists.txt).
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# ctest and gtest_discover_tests run target binaries through qemu. QEMU_CPU in the environment
# picks the emulated core (e.g. cortex-a53: no dot product; max: with it).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/aarch64-linux-gnu)
