# The installable library and its package (included last by the top-level
# CMakeLists.txt).
#
# libvstore.a: ONE archive with the objects of every layer behind the public
# API (client, actors, messages, commit queue, config, backends), so that a
# user links vstore::vstore and nothing of vstore's inner structure. In the
# source tree the layers stay separate libraries (tests link single layers).
set(_vstore_layers vstore_client vstore_actors vstore_messages vstore_commit_queue vstore_config
    vstore_log vstore_backends vstore_backend_memory vstore_backend_rocksdb
    vstore_state vstore_state_layout)
set(_vstore_objects "")
foreach(_layer IN LISTS _vstore_layers)
  list(APPEND _vstore_objects $<TARGET_OBJECTS:${_layer}>)
endforeach()
add_library(vstore_library STATIC ${_vstore_objects})
set_target_properties(vstore_library PROPERTIES OUTPUT_NAME vstore EXPORT_NAME vstore)
find_package(OpenSSL REQUIRED)
target_link_libraries(vstore_library
  PUBLIC vstore_headers CAF::core CAF::io CAF::openssl Threads::Threads
  PRIVATE VStoreDeps::rocksdb spdlog::spdlog OpenSSL::SSL)

if(NOT VSTORE_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)
set(_vstore_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/vstore)

install(TARGETS vstore_library vstore_headers EXPORT vstoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/vstore DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/vstore/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vstore)
install(EXPORT vstoreTargets NAMESPACE vstore:: DESTINATION ${_vstore_cmake_dir})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vstoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/vstoreConfig.cmake INSTALL_DESTINATION ${_vstore_cmake_dir})
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vstoreConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vstoreConfig.cmake ${PROJECT_BINARY_DIR}/vstoreConfigVersion.cmake
        ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake ${PROJECT_SOURCE_DIR}/cmake/FindRocksDB.cmake
        DESTINATION ${_vstore_cmake_dir})

configure_file(${PROJECT_SOURCE_DIR}/cmake/vstore.pc.in ${PROJECT_BINARY_DIR}/vstore.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vstore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(VSTORE_BUILD_TOOLS)
  install(TARGETS vstored vstore vstore-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
