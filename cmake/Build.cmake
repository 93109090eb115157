# How the project builds fast on a 2-core machine, and the helpers every CMakeLists.txt uses.
# Where the time went and what each measure saved: docs/PERFORMANCE.md ("CI and build time").

# --- Linker: lld links the sanitizer test executables several times faster than ld.bfd.
find_program(HONEYMAN_LLD ld.lld)
if(HONEYMAN_LLD)
  add_link_options(-fuse-ld=lld)
endif()
if(HONEYMAN_SANITIZE)
  # A sanitizer executable is ~150 MB; as a PIE its ~2 million relative relocations are applied
  # at every start, which the test suites pay several hundred times (measured: 0.55 s -> 0.32 s
  # per start).
  add_link_options(-no-pie)
endif()

# --- Debug info: line tables are all that sanitizer reports and backtraces need; full -g made
# the objects (and their links) several times larger.
string(REPLACE "-g" "-g1" CMAKE_CXX_FLAGS_RELWITHDEBINFO "${CMAKE_CXX_FLAGS_RELWITHDEBINFO}")
string(REPLACE "-g" "-g1" CMAKE_CXX_FLAGS_DEBUG "${CMAKE_CXX_FLAGS_DEBUG}")

# --- Unity builds: each target compiles its sources in batches, so the headers shared by a
# module's files are parsed and their templates instantiated once per batch, not once per file.
# HONEYMAN_UNITY=OFF builds file by file (clang-tidy, finding a missing include).
option(HONEYMAN_UNITY "Compile each target's sources in batches (unity build)" ON)
set(CMAKE_UNITY_BUILD ${HONEYMAN_UNITY})
set(CMAKE_UNITY_BUILD_BATCH_SIZE 8)
if(HONEYMAN_UNITY AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # In a unity batch every source is an included file, and GCC then reports templates of shared
  # headers instantiated with a file's anonymous-namespace types (meant for real headers).
  add_compile_options(-Wno-subobject-linkage)
endif()

# --- Precompiled headers. Every target reuses one of two precompiled headers (production, and
# production + GoogleTest for tests). GCC accepts a precompiled header only when the macros it
# was built with are defined the same way where it is used, so the definitions the imported
# Boost, spdlog and GoogleTest targets add are made global: every translation unit sees the same
# set (-Winvalid-pch, an error here, says at once if that ever drifts).
add_compile_definitions(BOOST_JSON_DYN_LINK BOOST_JSON_NO_LIB BOOST_URL_DYN_LINK BOOST_URL_NO_LIB
                        BOOST_CONTAINER_DYN_LINK BOOST_CONTAINER_NO_LIB
                        SPDLOG_COMPILED_LIB SPDLOG_SHARED_LIB SPDLOG_FMT_EXTERNAL FMT_SHARED
                        GTEST_HAS_PTHREAD=1
                        # hiredis's pkg-config flags; a no-op on 64-bit systems
                        _FILE_OFFSET_BITS=64)
add_compile_options(-Winvalid-pch)
option(HONEYMAN_PCH "Use precompiled headers" ON)

if(HONEYMAN_PCH)
  add_library(honeyman_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cpp)
  target_link_libraries(honeyman_pch PRIVATE Boost::json Boost::url Boost::headers spdlog::spdlog)
  target_precompile_headers(honeyman_pch PRIVATE ${PROJECT_SOURCE_DIR}/cmake/precompiled.hpp)
  set_target_properties(honeyman_pch PROPERTIES UNITY_BUILD OFF)
  if(HONEYMAN_TESTS)
    add_library(honeyman_pch_test OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cpp)
    target_link_libraries(honeyman_pch_test PRIVATE Boost::json Boost::url Boost::headers
                                                    spdlog::spdlog GTest::gtest)
    target_include_directories(honeyman_pch_test PRIVATE ${PROJECT_SOURCE_DIR}/cmake)
    target_precompile_headers(honeyman_pch_test PRIVATE
                              ${PROJECT_SOURCE_DIR}/cmake/precompiled_test.hpp)
    set_target_properties(honeyman_pch_test PROPERTIES UNITY_BUILD OFF)
  endif()
endif()

# honeyman_use_pch(<target> [TEST]): compile <target> with the shared precompiled header.
function(honeyman_use_pch target)
  if(NOT HONEYMAN_PCH)
    return()
  endif()
  if(ARGV1 STREQUAL "TEST")
    target_precompile_headers(${target} REUSE_FROM honeyman_pch_test)
  else()
    target_precompile_headers(${target} REUSE_FROM honeyman_pch)
  endif()
endfunction()

# honeyman_module(<name> SOURCES ... [PUBLIC deps...] [PRIVATE deps...]): the library
# honeyman_<name> of src/<name>/. Its headers are reachable as "<name>/..." only by targets that
# link it: its include root holds one link, <name> -> src/<name>, so an include across modules
# without a declared link dependency does not compile.
function(honeyman_module name)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  set(root ${PROJECT_BINARY_DIR}/include/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${name} ${root}/${name} SYMBOLIC)
  add_library(honeyman_${name} ${M_SOURCES})
  target_include_directories(honeyman_${name} PUBLIC ${root})
  target_link_libraries(honeyman_${name} PUBLIC ${M_PUBLIC} PRIVATE ${M_PRIVATE})
  honeyman_use_pch(honeyman_${name})
endfunction()

# honeyman_unit_tests(SOURCES ... LIBS ... [DEFINITIONS ...]): unit tests of a module (files
# next to the code they test). They are all linked into one executable, `unit_tests`, made by
# honeyman_add_unit_tests() once every module is known: one link instead of one per module. The
# module is the directory of the calling CMakeLists.txt (src/<module>, fuzz).
function(honeyman_unit_tests)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;DEFINITIONS" ${ARGN})
  if(NOT HONEYMAN_TESTS)
    return()
  endif()
  get_filename_component(module ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  set_property(GLOBAL APPEND PROPERTY HONEYMAN_UNIT_MODULES ${module})
  foreach(source ${T_SOURCES})
    get_filename_component(path ${source} ABSOLUTE)
    set_property(GLOBAL APPEND PROPERTY HONEYMAN_UNIT_SOURCES ${path})
    set_property(GLOBAL APPEND PROPERTY HONEYMAN_UNIT_SOURCES_${module} ${path})
    if(T_DEFINITIONS)
      set_property(GLOBAL APPEND PROPERTY HONEYMAN_UNIT_DEFINITIONS ${T_DEFINITIONS})
    endif()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY HONEYMAN_UNIT_LIBS ${T_LIBS})
endfunction()

# honeyman_test_suites(<var> <files...>): the GoogleTest suites the files define (TEST, TEST_F,
# TEST_P), each once; a configure error when there is none, rather than a test that runs nothing.
function(honeyman_test_suites var)
  set(suites)
  foreach(source ${ARGN})
    file(STRINGS ${source} lines REGEX "^(TEST|TEST_F|TEST_P)\\([A-Za-z0-9_]+,")
    foreach(line ${lines})
      string(REGEX REPLACE "^[A-Z_]+\\(([A-Za-z0-9_]+),.*" "\\1" suite "${line}")
      list(APPEND suites ${suite})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  if(NOT suites)
    message(FATAL_ERROR "${ARGN}: no test suite defined")
  endif()
  set(${var} ${suites} PARENT_SCOPE)
endfunction()

# honeyman_add_suite_tests(<executable> LABEL <label> PREFIX <prefix> SOURCES <files...>): one
# CTest test per GoogleTest suite the files define (a parameterised suite with all its
# instantiations), named <prefix><Suite>. One process per suite rather than per test case: a
# sanitizer executable takes ~0.3 s to start, which hundreds of tiny tests paid each.
function(honeyman_add_suite_tests executable)
  cmake_parse_arguments(S "" "LABEL;PREFIX" "SOURCES" ${ARGN})
  honeyman_test_suites(suites ${S_SOURCES})
  foreach(suite ${suites})
    add_test(NAME ${S_PREFIX}${suite}
             COMMAND ${executable} --gtest_filter=${suite}.*:*/${suite}.*)
    # Store suites take 10-30 s each (PostgreSQL): started among the integration files, not
    # last, where they ran alone on a clean clone (no timings yet to order by).
    if(S_LABEL STREQUAL "store")
      set(cost 80)
    else()
      set(cost 1)
    endif()
    set_tests_properties(${S_PREFIX}${suite} PROPERTIES LABELS ${S_LABEL} TIMEOUT 600 COST ${cost})
  endforeach()
endfunction()

# The unit tests run one process per module, `unit.<module>` (each of its suites, every case):
# most unit suites take well under a second, of which a sanitizer process's start and leak check
# at exit were ~0.25 s of CPU; 98 suites as 98 processes cost CI ~20 s of CPU for that alone.
function(honeyman_add_unit_tests)
  get_property(sources GLOBAL PROPERTY HONEYMAN_UNIT_SOURCES)
  get_property(libs GLOBAL PROPERTY HONEYMAN_UNIT_LIBS)
  get_property(definitions GLOBAL PROPERTY HONEYMAN_UNIT_DEFINITIONS)
  get_property(modules GLOBAL PROPERTY HONEYMAN_UNIT_MODULES)
  list(REMOVE_DUPLICATES libs)
  list(REMOVE_DUPLICATES definitions)
  list(REMOVE_DUPLICATES modules)
  add_executable(unit_tests ${sources})
  target_link_libraries(unit_tests PRIVATE ${libs} GTest::gtest GTest::gtest_main)
  target_compile_definitions(unit_tests PRIVATE ${definitions})
  honeyman_use_pch(unit_tests TEST)
  set(seen)
  foreach(module ${modules})
    get_property(module_sources GLOBAL PROPERTY HONEYMAN_UNIT_SOURCES_${module})
    honeyman_test_suites(suites ${module_sources})
    # A suite name in two modules would run in both modules' processes.
    foreach(suite ${suites})
      if(suite IN_LIST seen)
        message(FATAL_ERROR "unit test suite ${suite} of ${module} is also another module's")
      endif()
    endforeach()
    list(APPEND seen ${suites})
    set(filter)
    foreach(suite ${suites})
      list(APPEND filter "${suite}.*" "*/${suite}.*")
    endforeach()
    list(JOIN filter ":" filter)
    add_test(NAME unit.${module} COMMAND unit_tests --gtest_filter=${filter})
    set_tests_properties(unit.${module} PROPERTIES LABELS unit TIMEOUT 600 COST 1)
  endforeach()
endfunction()
