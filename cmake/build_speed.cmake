# What makes a build on a 2-core machine fast (docs/install.md "Build time"
# has the measurements). Included before any target exists: targets copy
# CMAKE_CXX_COMPILER_LAUNCHER and CMAKE_UNITY_BUILD when they are created.

# Unity builds: each target's sources compiled 8 to a translation unit, so
# the heavy headers (nlohmann/json, spdlog, gtest) are parsed and their
# templates instantiated once per 8 files instead of once per file. A clean
# build takes about 2.8x less; a one-file rebuild recompiles its 7 neighbours
# too (about 2x longer), so whoever edits and rebuilds in a loop turns it off
# once for their tree: -DCHATBATCH_UNITY_BUILD=OFF. File-local names must be
# unique within a part for this; a clash is a compile error in CI.
option(CHATBATCH_UNITY_BUILD "Compile each target's sources in batches of 8" ON)
if(CHATBATCH_UNITY_BUILD)
  set(CMAKE_UNITY_BUILD ON)
  set(CMAKE_UNITY_BUILD_BATCH_SIZE 8)
endif()

# ccache (Debian `ccache`) when it is installed: a rebuild after a checkout,
# a second build tree or a CI run that keeps its cache directory (.ci/run)
# costs lookups instead of compiles. A launcher given on the command line
# wins; -DCHATBATCH_CCACHE=OFF turns the lookup off.
option(CHATBATCH_CCACHE "Compile through ccache when it is installed" ON)
if(CHATBATCH_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(CHATBATCH_CCACHE_PROGRAM ccache)
  if(CHATBATCH_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CHATBATCH_CCACHE_PROGRAM})
    message(STATUS "Compiling through ${CHATBATCH_CCACHE_PROGRAM}")
  endif()
endif()
