# SPDX-License-Identifier: MIT
#
# Installation: headers, liblwp.so + liblwp.a, a CMake package and lwp.pc.
#
#   <prefix>/include/lwp/*.h
#   <prefix>/<libdir>/liblwp.so.<version>, liblwp.so.<major>, liblwp.so, liblwp.a
#   <prefix>/<libdir>/cmake/lwp/lwp{Config,ConfigVersion,Targets*}.cmake
#   <prefix>/<libdir>/pkgconfig/lwp.pc
#
# Consumers: find_package(lwp) then link lwp::lwp (shared) or
# lwp::lwp_static; or `cc app.c $(pkg-config --cflags --libs lwp)`.
# In this build tree lwp::lwp is an ALIAS of lwp_static; only the installed
# package's lwp::lwp is the shared library.
include(CMakePackageConfigHelpers)

set(LWP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/lwp"
    CACHE STRING "Where lwpConfig.cmake is installed (relative to the prefix)")
mark_as_advanced(LWP_INSTALL_CMAKEDIR)

# What a static link of liblwp.a needs besides it (lwp.pc Libs.private):
# the runtime calls pthread_getattr_np() and friends, which live in libc
# since glibc 2.34 but in libpthread before. A module that adds a dependency
# (IOMGR: -lev) sets LWP_PC_LIBS_PRIVATE before this file is included.
if(NOT DEFINED LWP_PC_LIBS_PRIVATE)
  set(LWP_PC_LIBS_PRIVATE "-pthread")
endif()

# Public headers. The pattern keeps stray files (editor backups) out.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/lwp/"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/lwp"
        COMPONENT Development
        FILES_MATCHING PATTERN "*.h")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/rpc2/"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/rpc2"
        COMPONENT Development
        FILES_MATCHING PATTERN "*.h")

install(TARGETS lwp_shared lwp_static lwprpc_shared lwprpc_static
        EXPORT lwpTargets
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
                COMPONENT Runtime
                NAMELINK_COMPONENT Development
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
                COMPONENT Development
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
                COMPONENT Runtime)

install(EXPORT lwpTargets
        NAMESPACE lwp::
        FILE lwpTargets.cmake
        DESTINATION "${LWP_INSTALL_CMAKEDIR}"
        COMPONENT Development)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/lwpConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/lwpConfig.cmake"
  INSTALL_DESTINATION "${LWP_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/lwpConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/lwpConfig.cmake"
              "${PROJECT_BINARY_DIR}/lwpConfigVersion.cmake"
        DESTINATION "${LWP_INSTALL_CMAKEDIR}"
        COMPONENT Development)

# lwp.pc is written at install time so that its prefix is the one actually
# installed into (`cmake --install build --prefix /somewhere` included), not
# the one configured. file(CONFIGURE) fills @VAR@ from the install script.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(_lwp_pc_libdir "${CMAKE_INSTALL_LIBDIR}")
else()
  set(_lwp_pc_libdir "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(_lwp_pc_includedir "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(_lwp_pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
file(READ "${PROJECT_SOURCE_DIR}/cmake/lwp.pc.in" _lwp_pc_template)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             "${PROJECT_SOURCE_DIR}/cmake/lwp.pc.in")
set(_lwp_pc_out "${PROJECT_BINARY_DIR}/pkgconfig/lwp.pc")
install(CODE "
  set(LWP_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(LWP_PC_LIBDIR [==[${_lwp_pc_libdir}]==])
  set(LWP_PC_INCLUDEDIR [==[${_lwp_pc_includedir}]==])
  set(LWP_PC_VERSION [==[${PROJECT_VERSION}]==])
  set(LWP_PC_LIBS_PRIVATE [==[${LWP_PC_LIBS_PRIVATE}]==])
  set(LWP_STACK_CLASH_FLAG [==[${LWP_STACK_CLASH_FLAG}]==])
  file(CONFIGURE OUTPUT [==[${_lwp_pc_out}]==]
       CONTENT [==[${_lwp_pc_template}]==] @ONLY)
" COMPONENT Development)
install(FILES "${_lwp_pc_out}"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
        COMPONENT Development)

# lwprpc.pc: the RPC layer (requires lwp; libcrypto for static links).
file(READ "${PROJECT_SOURCE_DIR}/cmake/lwprpc.pc.in" _lwprpc_pc_template)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             "${PROJECT_SOURCE_DIR}/cmake/lwprpc.pc.in")
set(_lwprpc_pc_out "${PROJECT_BINARY_DIR}/pkgconfig/lwprpc.pc")
install(CODE "
  set(LWP_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(LWP_PC_LIBDIR [==[${_lwp_pc_libdir}]==])
  set(LWP_PC_INCLUDEDIR [==[${_lwp_pc_includedir}]==])
  set(LWP_PC_VERSION [==[${PROJECT_VERSION}]==])
  file(CONFIGURE OUTPUT [==[${_lwprpc_pc_out}]==]
       CONTENT [==[${_lwprpc_pc_template}]==] @ONLY)
" COMPONENT Development)
install(FILES "${_lwprpc_pc_out}"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
        COMPONENT Development)
