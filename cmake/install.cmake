# Installation and packaging of the header-only target `plexus` and of the
# compiled library `plexus_compiled` (docs/install.md#install_compiled):
#   <prefix>/include/plexus/**                    the headers
#   <prefix>/lib/libplexus_compiled.a             the compiled library
#   <prefix>/lib/cmake/plexus/plexus*.cmake       for find_package(plexus CONFIG)
#   <prefix>/share/pkgconfig/plexus.pc            for pkg-config (and plexus-compiled.pc)
# All of it is in the install component `plexus`. See docs/install.md.
# `plexus_dev_flags` (warnings, -march=native, sanitizers for Plexus' own
# programs) is deliberately not installed or exported.

include(CMakePackageConfigHelpers)

option(PLEXUS_INSTALL "Generate Plexus' install rules (headers, CMake package, pkg-config file)"
       ${PLEXUS_TOP_LEVEL})
set(PLEXUS_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/plexus" CACHE STRING
    "Where plexusConfig.cmake goes, relative to the install prefix")
set(PLEXUS_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig" CACHE STRING
    "Where plexus.pc goes, relative to the install prefix")
mark_as_advanced(PLEXUS_INSTALL_CMAKEDIR PLEXUS_INSTALL_PKGCONFIGDIR)

if(NOT PLEXUS_INSTALL)
  return()
endif()

foreach(_plexus_dir CMAKE_INSTALL_INCLUDEDIR PLEXUS_INSTALL_CMAKEDIR PLEXUS_INSTALL_PKGCONFIGDIR)
  if(IS_ABSOLUTE "${${_plexus_dir}}")
    message(FATAL_ERROR "plexus: ${_plexus_dir} must be relative to the install prefix, got ${${_plexus_dir}}")
  endif()
endforeach()

install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/plexus
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT plexus
        FILES_MATCHING PATTERN "*.hpp")

install(TARGETS plexus EXPORT plexusTargets COMPONENT plexus)
# Built with the installing build's flags (CMAKE_CXX_FLAGS, no -march=native
# unless given there): a program linking it must share its Eigen alignment.
if(PLEXUS_COMPILED)
  set_target_properties(plexus_compiled PROPERTIES EXCLUDE_FROM_ALL OFF)
  install(TARGETS plexus_compiled EXPORT plexusTargets COMPONENT plexus
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
if(PLEXUS_WITH_MPI)
  install(TARGETS plexus_mpi EXPORT plexusTargets COMPONENT plexus)  # plexus::mpi
endif()
install(EXPORT plexusTargets
        NAMESPACE plexus::
        DESTINATION ${PLEXUS_INSTALL_CMAKEDIR}
        COMPONENT plexus)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/plexusConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/plexusConfig.cmake
                              INSTALL_DESTINATION ${PLEXUS_INSTALL_CMAKEDIR}
                              NO_SET_AND_CHECK_MACRO)
# plexus::plexus is header-only, so the same package serves 32- and 64-bit
# consumers; plexus::plexus_compiled is for the architecture it was built on.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/plexusConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMajorVersion
                                 ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/plexusConfig.cmake ${PROJECT_BINARY_DIR}/plexusConfigVersion.cmake
        DESTINATION ${PLEXUS_INSTALL_CMAKEDIR}
        COMPONENT plexus)

# pkg-config: the prefix is found from the .pc file's own location, so the
# file stays right under `cmake --install --prefix <elsewhere>` and DESTDIR.
file(RELATIVE_PATH _plexus_pc_to_prefix "/prefix/${PLEXUS_INSTALL_PKGCONFIGDIR}" "/prefix")
string(REGEX REPLACE "/$" "" _plexus_pc_to_prefix "${_plexus_pc_to_prefix}")
set(PLEXUS_PC_PREFIX "\${pcfiledir}/${_plexus_pc_to_prefix}")
set(PLEXUS_PC_OPENMP_FLAGS "")
if(PLEXUS_USE_OPENMP)
  set(PLEXUS_PC_OPENMP_FLAGS " ${OpenMP_CXX_FLAGS}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/plexus.pc.in ${PROJECT_BINARY_DIR}/plexus.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/plexus.pc
        DESTINATION ${PLEXUS_INSTALL_PKGCONFIGDIR}
        COMPONENT plexus)
if(PLEXUS_COMPILED)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/plexus-compiled.pc.in ${PROJECT_BINARY_DIR}/plexus-compiled.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/plexus-compiled.pc
          DESTINATION ${PLEXUS_INSTALL_PKGCONFIGDIR}
          COMPONENT plexus)
endif()
