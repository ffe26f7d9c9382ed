# Runs a tool and checks both its exit code and its output, which ctest's
# PASS_REGULAR_EXPRESSION alone cannot do (it ignores the exit code).
#
#   cmake -DTOOL=<binary> -DARGS=<a|b|c> -DEXPECT_RC=<n> -DEXPECT_REGEX=<regex>
#         [-DCLEAN=<paths to remove first, separated by |>] [-DEXPECT_FILE=<file that must be non-empty>]
#         -P run_tool.cmake
if(NOT DEFINED TOOL OR NOT DEFINED EXPECT_RC OR NOT DEFINED EXPECT_REGEX)
  message(FATAL_ERROR "run_tool.cmake: TOOL, EXPECT_RC and EXPECT_REGEX are required")
endif()
if(DEFINED CLEAN)
  string(REPLACE "|" ";" clean_paths "${CLEAN}")
  file(REMOVE_RECURSE ${clean_paths})
endif()
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND "${TOOL}" ${args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(err)
  message("stderr: ${err}")
endif()
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT_RC}")
endif()
if(NOT out MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "the output does not match '${EXPECT_REGEX}'")
endif()
if(DEFINED EXPECT_FILE)
  file(SIZE "${EXPECT_FILE}" size)
  if(size EQUAL 0)
    message(FATAL_ERROR "${EXPECT_FILE} is empty")
  endif()
endif()
