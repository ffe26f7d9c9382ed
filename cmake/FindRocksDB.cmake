# FindRocksDB: the shared library of Debian's librocksdb-dev. Its CMake config
# makes RocksDB::rocksdb the static archive, which drags gflags and slows every
# link, so this module defines its own target on librocksdb.so.
# Defines VStoreDeps::rocksdb.
find_path(ROCKSDB_INCLUDE_DIR rocksdb/db.h)
find_library(ROCKSDB_LIBRARY NAMES librocksdb.so rocksdb)
if(ROCKSDB_INCLUDE_DIR AND EXISTS "${ROCKSDB_INCLUDE_DIR}/rocksdb/version.h")
  file(STRINGS "${ROCKSDB_INCLUDE_DIR}/rocksdb/version.h" _rdb_major REGEX "#define ROCKSDB_MAJOR [0-9]+")
  string(REGEX MATCH "[0-9]+$" ROCKSDB_VERSION_MAJOR "${_rdb_major}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RocksDB REQUIRED_VARS ROCKSDB_LIBRARY ROCKSDB_INCLUDE_DIR
  VERSION_VAR ROCKSDB_VERSION_MAJOR)
if(RocksDB_FOUND AND NOT TARGET VStoreDeps::rocksdb)
  add_library(VStoreDeps::rocksdb SHARED IMPORTED)
  set_target_properties(VStoreDeps::rocksdb PROPERTIES
    IMPORTED_LOCATION "${ROCKSDB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ROCKSDB_INCLUDE_DIR}")
endif()
