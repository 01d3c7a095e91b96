# Replays every fuzz input (corpus and regressions) in the normal test
# suite, built by the ordinary compiler: a regression input fails ctest
# without clang. Included by tests/CMakeLists.txt.

include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
foreach(target ${CHATBATCH_FUZZ_TARGETS})
  string(REGEX REPLACE "^fuzz_" "" name ${target})
  add_executable(${target}_replay
    ${CHATBATCH_${target}_SOURCES} ${CMAKE_CURRENT_LIST_DIR}/replay_main.cc)
  target_link_libraries(${target}_replay PRIVATE chatbatch_core
    ${CHATBATCH_${target}_LIBRARIES})
  foreach(kind corpus regressions)
    set(dir ${CMAKE_CURRENT_LIST_DIR}/${kind}/${name})
    if(EXISTS ${dir})
      add_test(NAME ${target}_replay_${kind}
               COMMAND ${target}_replay ${dir})
      set_tests_properties(${target}_replay_${kind} PROPERTIES
        LABELS fuzz_replay TIMEOUT 120)
    endif()
  endforeach()
endforeach()
