# Helpers every folder's CMakeLists uses, so that all targets are declared the same way.

# odlm_library(NAME SOURCES a.cc b.cc DEPS odlm_base ...)
# Declares library `odlm_<NAME>` from the folder's sources. Include root is src/ (and include/ for
# the public API), so code includes "base/status.h" or "odlm/engine.h". Dependencies are PUBLIC
# only in the sense of include paths; the layer rule is checked by scripts/check_layers.py.
function(odlm_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(odlm_${name} STATIC ${ARG_SOURCES})
  target_include_directories(odlm_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(odlm_${name} PUBLIC ${ARG_DEPS} Threads::Threads)
endfunction()

# odlm_test(NAME SOURCES x_test.cc DEPS odlm_x ... [LABELS slow])
# A GoogleTest binary registered with CTest; runs with the project root as working directory so
# tests find ../shared/testdata by a relative path.
function(odlm_test name)
  if(NOT ODLM_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  # Tests may also include "tests/support/..." from the project root.
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include
                                             ${PROJECT_SOURCE_DIR})
  if(NOT TARGET odlm_test_main)
    # One main() for all tests: a private TEST_TMPDIR per process (tests/support/test_main.cc).
    add_library(odlm_test_main STATIC ${PROJECT_SOURCE_DIR}/tests/support/test_main.cc)
    target_link_libraries(odlm_test_main PUBLIC GTest::gtest)
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} odlm_test_main GTest::gtest Threads::Threads)
  target_compile_definitions(${name} PRIVATE ODLM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                             ODLM_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                       PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()

# odlm_benchmark(NAME SOURCES x_bench.cc DEPS ...) — a Google Benchmark binary (not run by ctest).
function(odlm_benchmark name)
  if(NOT ODLM_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark Threads::Threads)
endfunction()
