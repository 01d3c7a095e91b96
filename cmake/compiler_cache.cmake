# Compiles through ccache (Debian `ccache`) when it is installed, so a
# rebuild after `git checkout`, a second build tree or a CI run that keeps
# its cache directory (.ci/run) costs cache lookups instead of compiles
# (docs/install.md "Build time" has the measurements). A launcher given on
# the command line wins; -DCHATBATCH_CCACHE=OFF turns the lookup off.
# Included before any target exists: targets copy the launcher when created.
option(CHATBATCH_CCACHE "Compile through ccache when it is installed" ON)
if(NOT CHATBATCH_CCACHE OR CMAKE_CXX_COMPILER_LAUNCHER)
  return()
endif()
find_program(CHATBATCH_CCACHE_PROGRAM ccache)
if(CHATBATCH_CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CHATBATCH_CCACHE_PROGRAM})
  message(STATUS "Compiling through ${CHATBATCH_CCACHE_PROGRAM}")
endif()
