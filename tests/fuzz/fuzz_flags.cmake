# Compiler flags for the libFuzzer build (CHATBATCH_FUZZ=ON), included by the
# top CMakeLists.txt before any target exists so that chatbatch_core gets the
# same coverage and sanitizer instrumentation as the fuzz targets.
#
# libFuzzer ships with clang only. GCC builds everything else.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "CHATBATCH_FUZZ needs clang (libFuzzer), e.g. "
          "-DCMAKE_CXX_COMPILER=clang++-16; see scripts/fuzz.sh")
endif()

# chatbatch's error model is std::expected (libstdc++ <expected>). libstdc++
# 12 only declares it when __cpp_concepts >= 202002L, i.e. when the compiler
# implements P0848 (conditionally trivial special members: expected has one
# destructor per `requires` clause). Clang implements P0848 from 16 on but
# keeps reporting 201907L, so the header stays empty. Clang 14/15 lack P0848
# itself: there libstdc++'s expected cannot work at all. Probe, and on a
# clang that has the feature, report the value it deserves.
include(CheckCXXSourceCompiles)
set(_chatbatch_expected_probe [=[
#include <expected>
#include <string>
std::expected<std::string, std::string> F(bool ok) {
  if (ok) return std::string("v");
  return std::unexpected<std::string>("e");
}
int main() { return F(true).has_value() && !F(false).has_value() ? 0 : 1; }
]=])
check_cxx_source_compiles("${_chatbatch_expected_probe}"
                          CHATBATCH_HAS_EXPECTED)
if(NOT CHATBATCH_HAS_EXPECTED)
  set(_chatbatch_concepts_flags -D__cpp_concepts=202002L
                                -Wno-macro-redefined)
  set(CMAKE_REQUIRED_FLAGS "-D__cpp_concepts=202002L -Wno-macro-redefined")
  check_cxx_source_compiles("${_chatbatch_expected_probe}"
                            CHATBATCH_HAS_EXPECTED_WITH_CONCEPTS)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT CHATBATCH_HAS_EXPECTED_WITH_CONCEPTS)
    message(FATAL_ERROR
            "clang ${CMAKE_CXX_COMPILER_VERSION} cannot compile libstdc++'s "
            "std::expected (it needs P0848, clang >= 16); use clang++-16")
  endif()
  add_compile_options(${_chatbatch_concepts_flags})
endif()

# Coverage feedback everywhere; the libFuzzer main() is linked into the fuzz
# targets only (tests/fuzz/CMakeLists.txt). Any sanitizer report aborts.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                    -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=address,undefined)
