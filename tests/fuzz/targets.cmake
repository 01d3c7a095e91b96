# The fuzz targets and their sources, shared by the libFuzzer build
# (CMakeLists.txt) and the ctest replay (replay.cmake). A target's inputs are
# corpus/<name>/ and regressions/<name>/, <name> being the target without
# its fuzz_ prefix.
set(CHATBATCH_FUZZ_TARGETS fuzz_stream fuzz_job fuzz_turn_record)
set(CHATBATCH_fuzz_stream_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_stream.cc
  ${CMAKE_CURRENT_LIST_DIR}/reference_decode.cc)
set(CHATBATCH_fuzz_job_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_job.cc
  ${CMAKE_CURRENT_LIST_DIR}/yaml_redump.cc)
# Libraries a target uses itself, beyond chatbatch_core.
set(CHATBATCH_fuzz_job_LIBRARIES yaml-cpp)
set(CHATBATCH_fuzz_turn_record_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_turn_record.cc)
