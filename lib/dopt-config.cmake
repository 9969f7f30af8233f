# dopt-config.cmake — installed by `make install` into <prefix>/lib/cmake/dopt, for
# find_package(dopt).  Targets:
#   dopt::dopt    INTERFACE: the headers (define DOPT_IMPLEMENTATION in one of your C files)
#   dopt::shared  the installed libdopt.so (every module's implementation; do not define
#                 DOPT_IMPLEMENTATION when you link it)
get_filename_component(_dopt_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET dopt::dopt)
  add_library(dopt::dopt INTERFACE IMPORTED)
  set_target_properties(dopt::dopt PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_dopt_prefix}/include"
    INTERFACE_LINK_LIBRARIES "m")
endif()
if(NOT TARGET dopt::shared AND EXISTS "${_dopt_prefix}/lib/libdopt.so")
  add_library(dopt::shared SHARED IMPORTED)
  set_target_properties(dopt::shared PROPERTIES
    IMPORTED_LOCATION "${_dopt_prefix}/lib/libdopt.so"
    IMPORTED_SONAME "libdopt.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_dopt_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS "DOPT_SHARED"
    INTERFACE_LINK_LIBRARIES "m")
endif()
unset(_dopt_prefix)
