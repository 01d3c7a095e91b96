# Man pages (chatbatch(1), chatbatch-SUB(1), chatbatch-job(5)) and the bash
# and zsh completions, generated at build time into build/doc/ by
# scripts/gen-man-and-completions.py from `chatbatch __cli-spec` (the CLI11
# definition the program parses with) and docs/job-file.md. Cheap: one run
# of the binary and a Python script, redone only when either changes.
option(CHATBATCH_MAN_AND_COMPLETIONS
       "Generate and install the man pages and shell completions" ON)
if(NOT CHATBATCH_MAN_AND_COMPLETIONS)
  return()
endif()

find_package(Python3 REQUIRED COMPONENTS Interpreter)
include(GNUInstallDirs)

set(CHATBATCH_DOC_DIR ${CMAKE_BINARY_DIR}/doc)
set(_generator ${PROJECT_SOURCE_DIR}/scripts/gen-man-and-completions.py)
add_custom_command(
  OUTPUT ${CHATBATCH_DOC_DIR}/generated.stamp
  COMMAND ${Python3_EXECUTABLE} ${_generator} $<TARGET_FILE:chatbatch>
          ${PROJECT_SOURCE_DIR}/docs/job-file.md ${CHATBATCH_DOC_DIR}
          ${PROJECT_VERSION}
  COMMAND ${CMAKE_COMMAND} -E touch ${CHATBATCH_DOC_DIR}/generated.stamp
  DEPENDS chatbatch ${_generator} ${PROJECT_SOURCE_DIR}/docs/job-file.md
  COMMENT "Generating man pages and shell completions"
  VERBATIM)
add_custom_target(man_and_completions ALL
  DEPENDS ${CHATBATCH_DOC_DIR}/generated.stamp)

# The install rules for what is generated here, and only that (the rest of
# the install rules live elsewhere).
install(DIRECTORY ${CHATBATCH_DOC_DIR}/man1/
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(DIRECTORY ${CHATBATCH_DOC_DIR}/man5/
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${CHATBATCH_DOC_DIR}/completions/chatbatch
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${CHATBATCH_DOC_DIR}/completions/_chatbatch
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
